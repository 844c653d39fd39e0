"""Links given as lookups: ``{"email": "ann@example.com"}`` for the one record it matches.

A link may be given as an id, as "12" (from a form), as ``{"id": 12}`` or as a lookup;
before the checks that compare values, each becomes the number it stands for. A lookup
lists the target as the actor, so it finds only records the actor may read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from yiti.definitions.model import Entity, Field, Model
from yiti.errors import FieldProblem, ValidationError
from yiti.records.transaction import Transaction
from yiti.values import ValueProblem, copy_value, parse_reference

if TYPE_CHECKING:
    from yiti.records.service import Records


def looked_up(records: Records, tx: Transaction, entity: Entity, values: Mapping[str, Any],
              action: str) -> Mapping[str, Any]:
    """``values`` with each link given as a lookup (``{"email": ...}``) that matches one
    record replaced by that record's id; ``values`` itself when it has no lookups.

    Run before the checks that compare values (row rules, unchanged values), so that
    a lookup gets the answer its id would get, and the id checked is the id written.
    Only once the actor may ``action`` records of the entity at all: the lookups
    list the target as the actor, so they find only records the actor may read. One
    that finds none or several is left as given, for the row rules to refuse (as an
    id outside the actor's rows) or the checks to report at its field."""
    if not has_lookups(records.model, entity, values):
        return values
    records.policy.check(records.actor, entity, action, None)
    doc = copy_value(dict(values))
    resolve(records, tx, entity, doc)
    return doc


def has_lookups(model: Model, entity: Entity, values: Mapping[str, Any]) -> bool:
    """Whether a link of ``values`` or of its lines is given as a lookup."""
    for key, value in values.items():
        if not isinstance(value, (dict, list)):
            continue
        f = entity.fields.get(key)
        if f is None:
            continue
        if f.is_table and isinstance(value, list):
            child = model.entities[f.target or ""]
            if any(isinstance(line, dict) and has_lookups(model, child, line)
                   for line in value):
                return True
        elif is_lookup(f, value):
            return True
    return False


def resolve(records: Records, tx: Transaction, entity: Entity, doc: dict[str, Any],
            prefix: str = "") -> list[FieldProblem]:
    """A link given as ``{field: value, ...}`` becomes the id of the one match, and one
    given as "12" or ``{"id": 12}`` the number; the problems of lookups that match
    none or several (left as they were)."""
    problems: list[FieldProblem] = []
    for f in entity.fields.values():
        value = doc.get(f.name)
        if f.is_table and isinstance(value, list):
            child = records.model.entities[f.target or ""]
            for i, line in enumerate(value):
                if isinstance(line, dict):
                    problems += resolve(records, tx, child, line, f"{prefix}{f.name}[{i}].")
            continue
        if not is_lookup(f, value):
            if f.type == "link" and value is not None:
                doc[f.name] = link_id(value)
            continue
        if f.is_line_link:  # lines have no lookup of their own (docs/definitions.md)
            problems.append(FieldProblem(f"{prefix}{f.name}", "a line is given by its id, "
                                         "as {\"id\": 12} or 12", "link"))
            continue
        try:
            page = records.list(f.target or "", filters=list(value.items()), limit=2,
                                fields=["id"])
        except ValidationError as error:
            problems.append(FieldProblem(f"{prefix}{f.name}", error.message, "link"))
            continue
        if len(page.rows) != 1:
            what = ", ".join(f"{k}={v!r}" for k, v in value.items())
            problems.append(FieldProblem(
                f"{prefix}{f.name}",
                f"{'no' if not page.rows else 'more than one'} {f.target} with {what}",
                "link"))
            continue
        doc[f.name] = page.rows[0]["id"]
    return problems


def is_lookup(f: Field, value: Any) -> bool:
    """Whether ``value`` of field ``f`` is a link given as a lookup (``{"email": ...}``)
    rather than as an id or ``{"id": 3}``."""
    return f.type == "link" and isinstance(value, dict) and bool(value) and "id" not in value


def link_id(value: Any) -> Any:
    """A link given as an id, "12" or ``{"id": 12}`` as the number; anything else as given,
    for the field's parsing to refuse at its name."""
    try:
        return parse_reference(value)
    except ValueProblem:
        return value
