"""Values as people read them (lists, detail) and as form inputs hold them.

Every function returns plain text; templates escape it. Nothing here marks a value safe.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import numbers
from babel.dates import format_date, format_datetime, get_timezone_gmt

from yiti.definitions.model import Field, label_text
from yiti.values import DECIMAL_DEFAULTS


def currency_of(field: Field, record: Mapping[str, Any] | None, default: str) -> str:
    if field.currency_field and record and record.get(field.currency_field):
        return str(record[field.currency_field])
    return field.currency or default


def display(field: Field, value: Any, *, lang: str, tz: str, currency: str = "CNY",
            titles: Mapping[Any, str] | None = None) -> str:
    """``value`` of ``field`` formatted for reading in ``lang``."""
    if value is None or value == "":
        return ""
    loc = lang.replace("-", "_")
    kind = field.type
    if kind == "boolean":
        from yiti.web.ui.i18n import gettext

        return gettext("Yes") if value else gettext("No")
    if kind == "select":
        for option in field.options:
            if option.value == value:
                return label_text(option.label, lang)
        return str(value)
    if kind in ("link", "attachment"):
        if titles and value in titles:
            return titles[value]
        return f"#{value}"
    if kind == "money":
        try:
            return numbers.format_currency(Decimal(value), currency, locale=loc)
        except (ValueError, ArithmeticError):
            return str(value)
    if kind == "percent":
        return f"{numbers.format_decimal(Decimal(value), locale=loc)} %"
    if kind in ("decimal", "integer"):
        return numbers.format_decimal(value, locale=loc)
    if kind == "date" and isinstance(value, dt.date):
        return format_date(value, "medium", locale=loc)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return moment(value, lang=lang, tz=tz)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def local_time(value: dt.datetime, tz: str) -> dt.datetime:
    """``value`` in the site's time zone ``tz``. Times are stored in UTC, so a naive one
    (none should reach the screens) is taken as UTC, never as local."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(ZoneInfo(tz))


def moment(value: dt.datetime | None, *, lang: str, tz: str, zone: bool = False) -> str:
    """A point in time as people read it, the one format of every screen: in the site's
    time zone, ``lang``'s medium format ("Nov 25, 2026, 9:38:05 PM").

    ``zone`` adds the UTC offset ("GMT+08:00"): for times read as events apart from a
    form (the histories, the inbox), which people set against e-mails and logs, and
    where a daylight-saving zone repeats an hour."""
    if value is None:
        return ""
    local = local_time(value, tz)
    loc = lang.replace("-", "_")
    text = format_datetime(local, "medium", tzinfo=local.tzinfo, locale=loc)
    return f"{text} {get_timezone_gmt(local, 'long', locale=loc)}" if zone else text


def input_value(field: Field, value: Any, *, tz: str) -> str:
    """``value`` as the ``value=`` of the field's input (or a textarea's text)."""
    if value is None:
        return ""
    if field.type == "datetime" and isinstance(value, dt.datetime):
        return local_time(value, tz).strftime("%Y-%m-%dT%H:%M")
    if field.type == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if field.type == "json":
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if field.type == "boolean":
        return "1" if value else ""
    return str(value)


def step(field: Field) -> str:
    """The ``step=`` of a number input: 1 for integers, 10^-scale for decimals."""
    if field.type == "integer":
        return "1"
    scale = field.scale if field.scale is not None else DECIMAL_DEFAULTS[field.type][1]
    return "any" if scale > 8 else str(Decimal(1).scaleb(-scale))


def safe_href(value: Any) -> str | None:
    """A URL fit for ``href``: only http(s); anything else (``javascript:``) is shown as text."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None
