"""Check and normalise a record's values against its entity, naming every field at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yiti.definitions.model import SYSTEM_COLUMNS, Entity, Model
from yiti.errors import FieldProblem
from yiti.values import ValueProblem, check_bounds, parse

MAX_LINES = 10_000


def clean(model: Model, entity: Entity, doc: dict[str, Any], *, prefix: str = "",
          timezone: str = "Asia/Shanghai") -> list[FieldProblem]:
    """Parse every field of ``doc`` in place; return the problems (empty when valid)."""
    problems: list[FieldProblem] = []
    for f in entity.fields.values():
        where = f"{prefix}{f.name}"
        if f.is_table:
            lines = doc.get(f.name)
            if lines is None:
                doc[f.name] = []
                lines = []
            if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
                problems.append(FieldProblem(where, "must be a list of lines", "type"))
                continue
            if len(lines) > MAX_LINES:
                problems.append(FieldProblem(where, f"has more than {MAX_LINES} lines",
                                             "too_many"))
                continue
            if f.required and not lines:
                problems.append(FieldProblem(where, "needs at least one line", "required"))
            child = model.entities[f.target or ""]
            for i, line in enumerate(lines):
                problems += unknown_keys(child, line, prefix=f"{where}[{i}].")
                problems += clean(model, child, line, prefix=f"{where}[{i}].",
                                  timezone=timezone)
            continue
        try:
            value = parse(f, doc.get(f.name), timezone=timezone)
            if value in (None, "") and f.required:
                problems.append(FieldProblem(where, "is required", "required"))
            check_bounds(f, value)
            doc[f.name] = value
        except ValueProblem as problem:
            problems.append(FieldProblem(where, problem.message, problem.code))
    return problems


#: Keys a caller may send that aren't fields: they identify the record or echo back
#: what the system set (a line read, edited and sent back whole).
PASSTHROUGH = set(SYSTEM_COLUMNS)


def unknown_keys(entity: Entity, values: Mapping[str, Any], *, prefix: str = ""
                 ) -> list[FieldProblem]:
    from yiti.errors import did_you_mean

    problems = []
    for key in values:
        if key in entity.fields or key in PASSTHROUGH:
            continue
        hint = did_you_mean(key, entity.fields)
        problems.append(FieldProblem(
            f"{prefix}{key}",
            f"{entity.name} has no field {key!r}" + (f"; {hint}" if hint else ""),
            "unknown_field"))
    return problems
