"""A list request read from the query string: filters, search, sort and page.

The filter bar sends one or two parameters per filter, typed by the field:

=========================  ===========================  ==========================
field type                 parameters                   filter
=========================  ===========================  ==========================
string, text, email, ...   ``f.city=shang``              ``city like %shang%``
select, link               ``f.status=open``             ``status = open``
boolean                    ``f.active=1`` (or ``0``)     ``active = true``
numbers, money, dates      ``f.qty.from``, ``f.qty.to``  ``qty >= from``, ``<= to``
=========================  ===========================  ==========================

plus ``q`` (search), ``sort`` (``-field``), ``after`` (cursor) and ``n`` (rows before
this page, for "21–40 of 1,000+"). Export uses the same parameters, so it exports what
the list shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from yiti.definitions.model import Field
from yiti.values import DEFAULT_TIMEZONE
from yiti.web.ui.screens import Column

TEXT = ("string", "text", "email", "phone", "url", "json")
RANGE = ("integer", "decimal", "money", "percent", "date", "datetime")
#: Query parameters that are not filters (kept when a saved view is stored).
CONTROL = ("q", "sort", "after", "n", "view", "page_size")


def filter_kind(field: Field) -> str:
    if field.type in TEXT:
        return "text"
    if field.type in RANGE:
        return "range"
    if field.type in ("select", "boolean", "link", "attachment"):
        return field.type if field.type != "attachment" else "link"
    return "text"


def input_type(field: Field) -> str:
    """The HTML input type of a range filter's bounds."""
    return {"date": "date", "datetime": "datetime-local"}.get(field.type, "number")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"


def filterable(spec: Any) -> list[Column]:
    """Columns a request may filter on: the view's filters and its columns (a link can
    filter a column the bar doesn't show, ``?f.full_name=wu``)."""
    seen: dict[str, Column] = {}
    for col in [*spec.filters, *spec.columns]:
        seen.setdefault(col.path, col)
    return list(seen.values())


def in_zone(field: Field, value: str, tz: str) -> str:
    """A datetime bound as typed (``2026-03-01T09:00``, no offset) taken in the site's
    time zone ``tz``, as the list shows times; anything else as it is."""
    if field.type != "datetime":
        return value
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value  # the record service names the bad filter
    return moment.replace(tzinfo=ZoneInfo(tz)).isoformat() if moment.tzinfo is None else value


def filters_from(args: Mapping[str, str], columns: Sequence[Column], tz: str = DEFAULT_TIMEZONE
                 ) -> list[tuple[str, str, Any]]:
    """``[(path, op, value)]`` for the filter columns the request sets (datetime bounds in
    the site's time zone ``tz``)."""
    out: list[tuple[str, str, Any]] = []
    for col in columns:
        key = f"f.{col.path}"
        kind = filter_kind(col.field)
        if kind == "range":
            low, high = args.get(f"{key}.from", "").strip(), args.get(f"{key}.to", "").strip()
            if low:
                out.append((col.path, ">=", in_zone(col.field, low, tz)))
            if high:
                out.append((col.path, "<=", in_zone(col.field, high, tz)))
            continue
        value = args.get(key, "").strip()
        if not value:
            continue
        if kind == "text":
            out.append((col.path, "like", _like(value)))
        elif kind == "boolean":
            out.append((col.path, "=", value in ("1", "true", "yes", "on")))
        else:
            out.append((col.path, "=", value))
    return out


@dataclass(frozen=True)
class ListRequest:
    filters: list[tuple[str, str, Any]]
    search: str
    sort: list[str]
    after: str | None
    start: int  # rows before this page


def read(args: Mapping[str, str], filter_columns: Sequence[Column], sortable: set[str],
         default_sort: Sequence[str], tz: str = DEFAULT_TIMEZONE) -> ListRequest:
    """The list request in ``args``; an unknown sort key falls back to the default.
    ``tz`` is the site's time zone, for datetime filters."""
    sort_key = args.get("sort", "").strip()
    sort = [sort_key] if sort_key.lstrip("-") in sortable else list(default_sort)
    try:
        start = max(0, int(args.get("n", "0")))
    except ValueError:
        start = 0
    return ListRequest(filters_from(args, filter_columns, tz), args.get("q", "").strip()[:200],
                       sort, args.get("after") or None, start)


def is_filtered(args: Mapping[str, str]) -> bool:
    return any(k.startswith("f.") and v for k, v in args.items()) or bool(args.get("q"))
