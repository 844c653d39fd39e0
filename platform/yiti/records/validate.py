"""Check and normalise a record's values against its entity, naming every field at fault.

An entity's checks are worked out once (:func:`checks_for`): for each field its parser,
whether it is required, and its bounds check, built from the definition by
:mod:`yiti.values`. Checking a record then only runs those functions. Single creates,
updates and bulk loads share them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yiti.definitions.model import SYSTEM_COLUMNS, Entity, Model
from yiti.errors import FieldProblem
from yiti.messages import Message
from yiti.values import (
    DEFAULT_TIMEZONE,
    PerDefinition,
    ValueProblem,
    bounds_checker,
    field_parser,
)

MAX_LINES = 10_000


@dataclass(frozen=True)
class FieldCheck:
    """How one field's value is checked. A table field names its lines' entity in
    ``table`` and has no parser."""

    name: str
    parse: Callable[[Any], Any]
    required: bool
    bounds: Callable[[Any], None] | None
    table: str | None = None


def _no_parse(value: Any) -> Any:
    return value


def _build_checks(entity: Entity, timezone: str) -> tuple[FieldCheck, ...]:
    return tuple(
        FieldCheck(f.name, _no_parse, f.required, None, f.target or "") if f.is_table
        else FieldCheck(f.name, field_parser(f, timezone), f.required, bounds_checker(f))
        for f in entity.fields.values()
    )


_checks: PerDefinition[tuple[FieldCheck, ...]] = PerDefinition(_build_checks)


def checks_for(entity: Entity, timezone: str = DEFAULT_TIMEZONE) -> tuple[FieldCheck, ...]:
    """``entity``'s field checks in field order, built once per entity and time zone."""
    return _checks.get(entity, timezone)


def clean(model: Model, entity: Entity, doc: dict[str, Any], *, prefix: str = "",
          timezone: str = DEFAULT_TIMEZONE) -> list[FieldProblem]:
    """Parse every field of ``doc`` in place; return the problems (empty when valid)."""
    problems: list[FieldProblem] = []
    get = doc.get
    for check in _checks.get(entity, timezone):
        if check.table is not None:
            problems += _clean_lines(model, check, doc, prefix, timezone)
            continue
        try:
            value = check.parse(get(check.name))
            if check.required and (value is None or value == ""):
                problems.append(FieldProblem(f"{prefix}{check.name}", Message("is required"),
                                             "required"))
            if check.bounds is not None:
                check.bounds(value)
            doc[check.name] = value
        except ValueProblem as problem:
            problems.append(FieldProblem(f"{prefix}{check.name}", problem.message,
                                         problem.code))
    return problems


def _clean_lines(model: Model, check: FieldCheck, doc: dict[str, Any], prefix: str,
                 timezone: str) -> list[FieldProblem]:
    where = f"{prefix}{check.name}"
    lines = doc.get(check.name)
    if lines is None:
        doc[check.name] = []
        lines = []
    if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
        return [FieldProblem(where, Message("must be a list of lines"), "type")]
    if len(lines) > MAX_LINES:
        return [FieldProblem(where, Message("has more than %(n)s lines", n=MAX_LINES),
                             "too_many")]
    problems = []
    if check.required and not lines:
        problems.append(FieldProblem(where, Message("needs at least one line"), "required"))
    child = model.entities[check.table or ""]
    for i, line in enumerate(lines):
        problems += unknown_keys(child, line, prefix=f"{where}[{i}].")
        problems += clean(model, child, line, prefix=f"{where}[{i}].", timezone=timezone)
    return problems


#: Keys a caller may send that aren't fields: they identify the record or echo back
#: what the system set (a line read, edited and sent back whole).
PASSTHROUGH = set(SYSTEM_COLUMNS)

_known_keys: PerDefinition[frozenset[str]] = PerDefinition(
    lambda entity: frozenset(entity.fields) | PASSTHROUGH)


def unknown_keys(entity: Entity, values: Mapping[str, Any], *, prefix: str = ""
                 ) -> list[FieldProblem]:
    if _known_keys.get(entity).issuperset(values):
        return []
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
