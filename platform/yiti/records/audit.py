"""The audit trail: who changed what, when, field by field, child lines included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yiti.definitions.model import Entity, Model
from yiti.values import to_json


def changes(model: Model, entity: Entity, old: Mapping[str, Any] | None,
            new: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{field: [before, after]}`` for plain fields; for table fields
    ``{"added": [...], "removed": [...], "changed": [{"id", "changes"}]}``."""
    old = old or {}
    new = new or {}
    out: dict[str, Any] = {}
    for f in entity.fields.values():
        if f.is_table:
            child = model.entities[f.target or ""]
            before = {line["id"]: line for line in old.get(f.name) or [] if line.get("id")}
            after = new.get(f.name) or []
            after_ids = {line.get("id") for line in after}
            part: dict[str, Any] = {}
            added = [_line_json(child, x) for x in after if x.get("id") not in before]
            removed = [_line_json(child, x) for i, x in before.items() if i not in after_ids]
            changed = []
            for line in after:
                prev = before.get(line.get("id"))
                if prev is not None:
                    diff = changes(model, child, prev, line)
                    if diff:
                        changed.append({"id": line["id"], "changes": diff})
            if added:
                part["added"] = added
            if removed:
                part["removed"] = removed
            if changed:
                part["changed"] = changed
            if part:
                out[f.name] = part
            continue
        a, b = old.get(f.name), new.get(f.name)
        if a != b:
            out[f.name] = [to_json(a), to_json(b)]
    return out


def _line_json(entity: Entity, line: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: to_json(line.get(k)) for k in entity.fields if line.get(k) is not None}
    if line.get("id"):
        data["id"] = line["id"]
    return data
