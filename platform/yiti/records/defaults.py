"""A new record's values before anyone types: each field's default, lines included."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from yiti.definitions.model import Entity, Field
from yiti.values import copy_value

if TYPE_CHECKING:
    from yiti.records.service import Records


def with_defaults(records: Records, entity: Entity, values: Mapping[str, Any]
                  ) -> dict[str, Any]:
    """``values`` (copied) with every field they leave out at its default, and each line's,
    ``today`` and ``now`` in the site's time zone."""
    timezone = records.site.settings.timezone
    doc: dict[str, Any] = {}
    for f in entity.fields.values():
        if f.is_table:
            child = records.model.entities[f.target or ""]
            doc[f.name] = [child_defaults(child, line, timezone)
                           for line in values.get(f.name) or []]
        elif f.name in values:
            doc[f.name] = copy_value(values[f.name])
        else:
            doc[f.name] = default(f, timezone)
    for key in ("name",):
        if key in values:
            doc[key] = values[key]
    return doc


def child_defaults(child: Entity, line: Any, timezone: str) -> Any:
    """A new line (copied) with the fields it leaves out at their defaults; anything but
    a dict as given, for the checks to refuse."""
    if not isinstance(line, dict):
        return line
    out = {k: copy_value(v) for k, v in line.items()}
    for f in child.fields.values():
        if f.name not in out and not f.is_table:
            out[f.name] = default(f, timezone)
    return out


def default(f: Field, timezone: str) -> Any:
    """A field's default: a literal, or ``today`` / ``now`` in the site's time zone."""
    if f.default is None or isinstance(f.default, dict):
        return None
    if f.type in ("date", "datetime") and f.default in ("today", "now"):
        now = dt.datetime.now(ZoneInfo(timezone))
        return now.date() if f.type == "date" else now
    return copy_value(f.default)
