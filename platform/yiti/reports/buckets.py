"""Date buckets (day, week, month, quarter, year) as SQL, per database, and their ranges.

A bucket's value is the **date its period starts** (weeks start on Monday), so buckets
sort, compare and drill down the same way on every database.

Datetimes are stored in UTC. On PostgreSQL they are bucketed in the site's time zone
(``date_trunc('month', col AT TIME ZONE 'Asia/Shanghai')``), daylight saving included.
SQLite has no time zone data: datetimes are shifted by the site zone's UTC offset *now*
(``date(col, '+480 minutes', 'start of month')``), exact for zones without daylight
saving (China's) and up to an hour off around a change elsewhere.

The zone's name and the bucket's unit are written into the SQL as literals (after
checking them), not bound: PostgreSQL must see the same expression in SELECT and
GROUP BY, and two bound parameters would be two different expressions to it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, DateTime, Integer, cast, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

from yiti.reports.spec import BUCKETS

_ZONE = re.compile(r"^[A-Za-z0-9_+\-/]{1,64}$")


def _quoted(text: str) -> Any:
    return literal_column(f"'{text}'")


def zone_literal(tz: str) -> Any:
    if not _ZONE.match(tz):
        raise ValueError(f"not a time zone name: {tz!r}")
    ZoneInfo(tz)  # raises for unknown zones
    return _quoted(tz)


def offset_minutes(tz: str, at: dt.datetime | None = None) -> int:
    """The zone's UTC offset in minutes at ``at`` (default: now)."""
    at = at or dt.datetime.now(dt.UTC)
    offset = at.astimezone(ZoneInfo(tz)).utcoffset() or dt.timedelta(0)
    return int(offset.total_seconds() // 60)


def bucket(col: Any, unit: str, *, field_type: str, dialect: str, tz: str
           ) -> ColumnElement[Any]:
    """The start date of ``col``'s ``unit`` (a date field, or a datetime in the site zone)."""
    if unit not in BUCKETS:
        raise ValueError(f"unknown bucket {unit!r}")
    if dialect == "postgresql":
        if field_type == "datetime":
            local = col.op("AT TIME ZONE")(zone_literal(tz))
        else:  # a date: as a timestamp without zone (date_trunc would pick timestamptz)
            local = cast(col, DateTime(timezone=False))
        if unit == "day":
            return cast(local, Date)
        return cast(func.date_trunc(_quoted(unit), local), Date)
    # SQLite: text dates; datetimes stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC
    mods: list[Any] = []
    if field_type == "datetime":
        minutes = offset_minutes(tz)
        mods.append(_quoted(f"{minutes:+d} minutes"))
    if unit == "day":
        return func.date(col, *mods, type_=Date)
    if unit == "week":
        return func.date(col, *mods, _quoted("-6 days"), _quoted("weekday 1"), type_=Date)
    if unit == "month":
        return func.date(col, *mods, _quoted("start of month"), type_=Date)
    if unit == "year":
        return func.date(col, *mods, _quoted("start of year"), type_=Date)
    # quarter: back to the month's start, then (month - 1) % 3 months more
    shifted = func.date(col, *mods) if mods else col
    months_back = (cast(func.strftime("%m", shifted), Integer) - 1) % 3
    return func.date(shifted, _quoted("start of month"),
                     func.printf("-%d months", months_back), type_=Date)


def start_of(day: dt.date, unit: str) -> dt.date:
    """The start of ``day``'s bucket (the same rule as the SQL)."""
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def next_start(start: dt.date, unit: str, steps: int = 1) -> dt.date:
    """The start of the bucket ``steps`` after the one starting at ``start``."""
    if unit == "day":
        return start + dt.timedelta(days=steps)
    if unit == "week":
        return start + dt.timedelta(weeks=steps)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * steps
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def label(start: Any, unit: str) -> str:
    """How a bucket is shown: 2026-03-09, 2026-W11, 2026-03, 2026 Q1, 2026."""
    if not isinstance(start, dt.date):
        return "" if start is None else str(start)
    if unit == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if unit == "month":
        return f"{start.year}-{start.month:02d}"
    if unit == "quarter":
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    if unit == "year":
        return str(start.year)
    return start.isoformat()


def as_date(value: Any) -> Any:
    """A bucket value as a date (SQLite may hand back text)."""
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def range_filters(path: str, start: dt.date, unit: str, field_type: str, tz: str
                  ) -> list[tuple[str, str, Any]]:
    """Filters selecting the records of one bucket: ``path >= start AND path < next``."""
    end = next_start(start, unit)
    if field_type == "datetime":
        zone = ZoneInfo(tz)
        low = dt.datetime.combine(start, dt.time(), zone)
        high = dt.datetime.combine(end, dt.time(), zone)
        return [(path, ">=", low.isoformat()), (path, "<", high.isoformat())]
    return [(path, ">=", start.isoformat()), (path, "<", end.isoformat())]
