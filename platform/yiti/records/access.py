"""Which values an actor may set: refused before a write, never silently dropped; which
rows they may read, by id (:func:`readable_by_id`).

Field permissions and read-only fields are checked on the values given
(:func:`refuse_unwritable`); row rules are checked again on the values about to be
written when hooks, formulas or defaults changed what they read (:func:`recheck_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from yiti.definitions.model import SYSTEM_COLUMNS, Entity, Field, Model
from yiti.errors import FieldProblem, Forbidden, ValidationError
from yiti.messages import Message
from yiti.records.validate import unknown_keys
from yiti.values import ValueProblem, parse

if TYPE_CHECKING:
    from yiti.records.service import Records


def refuse_unwritable(records: Records, entity: Entity, values: Mapping[str, Any],
                      old: Mapping[str, Any] | None) -> None:
    """Refuse (never silently drop) values the caller may not set.

    A value sent back unchanged (a whole record read, edited and saved) is no attempt
    to set anything and passes.
    """
    actor = records.actor
    problems = unknown_keys(entity, values)
    writable = records.policy.writable(actor, entity)
    for key, value in values.items():
        f = entity.fields.get(key)
        if old is not None and key in old and (
                old[key] == value or f is not None and not f.is_table
                and _same_value(f, old[key], value)):
            continue
        if f is None:
            if key in ("id", "version") or key not in SYSTEM_COLUMNS:
                continue
            if key == "name" and old is None and not entity.naming.series:
                continue
            if key == "name" and actor.system and old is None:
                continue  # imports keep their documents' numbers
            problems.append(FieldProblem(key, Message("is set by the system"), "read_only"))
            continue
        if (f.read_only or f.formula) and not actor.system:
            problems.append(FieldProblem(key, Message("is read-only"), "read_only"))
        elif writable is not None and key not in writable:
            problems.append(FieldProblem(key, Message("you may not change this field"),
                                         "forbidden_field"))
    if not actor.system:
        problems += _unwritable_in_lines(records.model, entity, values, old)
    if problems:
        raise ValidationError(problems, entity=entity.name)


def _unwritable_in_lines(model: Model, entity: Entity, values: Mapping[str, Any],
                         old: Mapping[str, Any] | None) -> list[FieldProblem]:
    """Read-only and formula fields of lines, set by hand: a new line's non-empty
    value, or a kept line's value other than the stored one (``lines[0].discount``)."""
    problems = []
    for f in entity.table_fields:
        lines = values.get(f.name)
        if not isinstance(lines, list):
            continue
        child = model.entities[f.target or ""]
        fixed = {c.name: c for c in child.fields.values() if c.read_only or c.formula}
        if not fixed:
            continue
        stored = {line["id"]: line for line in (old or {}).get(f.name) or []}
        for i, line in enumerate(lines):
            if not isinstance(line, dict):
                continue
            prev = stored.get(line.get("id"))
            for key in fixed.keys() & line.keys():
                value = line[key]
                if prev is None:
                    if value is None or value == "":
                        continue
                elif _same_value(fixed[key], prev.get(key), value):
                    continue
                problems.append(FieldProblem(f"{f.name}[{i}].{key}", "is read-only",
                                             "read_only"))
    return problems


def recheck_rows(records: Records, entity: Entity, action: str,
                 docs: Sequence[Mapping[str, Any]], checked: Sequence[Mapping[str, Any]], *,
                 single: bool) -> None:
    """The row rules once more, over the values about to be written, for each doc in
    which a field they read differs from the values they passed: a before_validate,
    validate or before_save hook, a formula or a default set it since. The record
    written is then one the actor may write, refused (403) as the first check would.

    Only the fields the rules read are compared, so a write whose hooks leave them
    alone costs no second check (no query for a rule through a link); the system
    and roles without row rules skip it all.
    """
    if records.actor.system:
        return
    fields = records.policy.row_fields(records.actor, entity, action)
    if not fields:
        return
    for i, (doc, seen) in enumerate(zip(docs, checked, strict=True)):
        if all(doc.get(f) == seen.get(f) for f in fields):
            continue
        try:
            records.policy.check(records.actor, entity, action,
                                 {k: v for k, v in doc.items() if k != "id"})
        except Forbidden as error:
            if single:
                raise
            raise Forbidden(f"rows[{i}]: {error.message}", **error.details) from None


def _same_value(f: Field, stored: Any, given: Any) -> bool:
    """Whether ``given`` (as a client sends it: "12.50" for a Decimal) is ``stored``."""
    if stored == given:
        return True
    try:
        return parse(f, given) == stored
    except ValueProblem:
        return False


def readable_by_id(records: Records, entity: Entity, ids: Sequence[int]) -> Select:
    """The rows of ``entity`` with these ids that the actor's row rules let through (the
    policy's check of each row still follows: a rule it can't put in SQL)."""
    t = records.tables[entity.table_name]
    query = select(t).where(t.c.id.in_(ids))
    rule = records.policy.row_filter(records.actor, entity, t)
    return query if rule is None else query.where(rule)
