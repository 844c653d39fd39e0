"""Small helpers shared by the commerce hooks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from yiti import api

UTC = dt.UTC


def system(records: api.Records) -> api.Records:
    """The record service as the system, in the caller's transaction: for the pack's
    trusted rules once it has decided the caller may do what it asked."""
    return records.site.records(api.SYSTEM)


def now(records: api.Records) -> dt.datetime:
    """The current time: the job layer's clock when installed (tests move it)."""
    jobs = getattr(records.site, "jobs", None)
    clock = getattr(jobs, "clock", None)
    return clock.now() if clock is not None else dt.datetime.now(UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A stored datetime (UTC, maybe naive on SQLite) made timezone-aware."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def first(records: api.Records, entity: str, filters: Any, **kwargs: Any) -> dict | None:
    """The first record matching ``filters``, or None."""
    rows = records.list(entity, filters=filters, limit=1, **kwargs).rows
    return rows[0] if rows else None


def lookup(records: api.Records, entity: str, value: Any, field: str = "code", *,
           param: str | None = None, fields: list[str] | None = None) -> dict:
    """A record by id, by name or by ``field``; a 422 naming the value when there is none,
    at ``param`` (the request's key the value came from, default the entity's name).
    ``fields``: only these (and the id), when the caller needs no more."""
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    row = first(records, entity, [key_filter(value, field)], fields=fields)
    if row is None:
        raise api.ValidationError(f"no {entity} {value!r}", field=param or entity)
    return row


def key_filter(value: Any, field: str = "code") -> tuple[str, str, Any]:
    """The filter :func:`lookup` finds ``value`` by: its id (a number, digits or a dict
    with an id), else ``field``."""
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return ("id", "=", int(value))
    return (field, "=", str(value))


def find_channel(records: api.Records, code: Any) -> dict[str, Any]:
    """The channel ``code`` (or id); without one, the first active online mall."""
    if code:
        return lookup(records, "channel", code)
    row = first(records, "channel", [("kind", "=", "online_mall"), ("status", "=", "active")],
                sort=["code"])
    if row is None:
        raise api.ValidationError("name a channel", field="channel")
    return row


def all_rows(records: api.Records, entity: str, filters: Any = None,
             fields: list[str] | None = None, sort: list[str] | None = None) -> list[dict]:
    """Every record matching ``filters``, page by page (for jobs over modest sets)."""
    out: list[dict] = []
    cursor = None
    while True:
        page = records.list(entity, filters=filters, fields=fields, sort=sort or ["id"],
                            limit=1000, after_cursor=cursor)
        out += page.rows
        if not page.has_more:
            return out
        cursor = page.next
