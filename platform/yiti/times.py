"""Points in time as people read them: in the site's time zone, in their language.

Times are stored in UTC; every screen, notification, printout and export shows them in
the site's zone (``YITI_TIMEZONE``) through these two functions, so they all read alike.
The screens reach them as :mod:`yiti.web.ui.present` and the templates' ``when``; the job
layer (notifications, e-mails) and reports use them from here, below the web layer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_timezone_gmt

__all__ = ["local_time", "moment", "site_now"]


def site_now(site: Any) -> dt.datetime:
    """The current time (aware, UTC) by ``site``'s job-layer clock (``site.jobs.clock``),
    so a test that moves that clock (:class:`yiti.jobs.FakeClock`) moves every ``now()``
    a pack sees: in jobs, endpoints, pages and hooks. The real clock when no job layer is
    installed."""
    clock = getattr(getattr(site, "jobs", None), "clock", None)
    return clock.now() if clock is not None else dt.datetime.now(dt.UTC)


def local_time(value: dt.datetime, tz: str) -> dt.datetime:
    """``value`` in the site's time zone ``tz``. Times are stored in UTC, so a naive one
    (none should reach the screens) is taken as UTC, never as local."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(tz))


def moment(value: dt.datetime | None, *, lang: str, tz: str, zone: bool = False) -> str:
    """A point in time as people read it, the one format of every screen: in the site's
    time zone, ``lang``'s medium format ("Nov 25, 2026, 9:38:05 PM").

    ``zone`` adds the UTC offset ("GMT+08:00"): for times read as events apart from a
    form (the histories, the inbox, notifications, the jobs pages, a printout), which
    people set against e-mails and logs, and where a daylight-saving zone repeats an
    hour."""
    if value is None:
        return ""
    local = local_time(value, tz)
    loc = lang.replace("-", "_")
    text = format_datetime(local, "medium", tzinfo=local.tzinfo, locale=loc)
    return f"{text} {get_timezone_gmt(local, 'long', locale=loc)}" if zone else text
