"""Row rules compiled to SQL conditions, and checked against values about to be written.

A rule's condition is a SQLAlchemy expression over the entity's table. List queries add
it to their WHERE; single-record reads load the record with the same WHERE (the record
service's ``_load``); writes to an existing record ask the database whether the record
matches the same condition. One compiled rule serves all three, so they cannot disagree.

A path through link fields (``supplier.code``) becomes ``supplier IN (SELECT id FROM
supplier WHERE code = :value)``: no join in the outer query, so it composes with any
filter, sort or pagination the list adds.

A rule compares with a user attribute, or (``user: name``) with the user's own name:
:meth:`Actor.rule_value` gives either, and None (match nothing) for a user without the
attribute and for the system and anonymous callers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, false, or_, select

from yiti.definitions.model import Entity, Field, Model
from yiti.permissions.policy import Actor
from yiti.permissions.rules import RowRule
from yiti.values import ValueProblem, parse

_SYSTEM_STRING = Field("_", "string", {"en": ""})
_SYSTEM_INTEGER = Field("_", "integer", {"en": ""})


def condition(rule: RowRule, actor: Actor, model: Model, tables: Mapping[str, Any],
              entity: Entity, table: FromClause) -> ColumnElement[bool]:
    """The SQL condition of ``rule`` for ``actor`` over ``table`` (the entity's table or an
    alias of it)."""
    if rule.own:
        return table.c.created_by == actor.name
    return _path_condition(model, tables, entity, table, (rule.path or "").split("."),
                           actor.rule_value(rule.attribute or ""))


def any_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    if not conditions:
        return false()
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def _path_condition(model: Model, tables: Mapping[str, Any], entity: Entity,
                    table: FromClause, parts: list[str], wanted: Any) -> ColumnElement[bool]:
    head, rest = parts[0], parts[1:]
    f = _field(entity, head)
    if not rest:
        return _compare(table.c[head], f, wanted)
    target = model.entities[f.target or ""]
    target_table = tables[target.table_name]
    inner = _path_condition(model, tables, target, target_table, rest, wanted)
    return table.c[head].in_(select(target_table.c.id).where(inner))


def _field(entity: Entity, name: str) -> Field:
    if name in entity.fields:
        return entity.fields[name]
    if name in ("id", "version", "parent_id", "idx"):
        return _SYSTEM_INTEGER
    return _SYSTEM_STRING


def _compare(column: Any, f: Field, wanted: Any) -> ColumnElement[bool]:
    """``column = wanted`` (or IN, for a list); no value means no rows, never all rows."""
    values = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
    parsed = [v for v in (_parse(f, v) for v in values) if v is not None]
    if not parsed:
        return false()
    return column == parsed[0] if len(parsed) == 1 else column.in_(parsed)


def _parse(f: Field, value: Any) -> Any:
    if value is None:
        return None
    probe = f
    if f.type in ("select", "link", "attachment", "table"):
        probe = _SYSTEM_INTEGER if f.type in ("link", "attachment") else _SYSTEM_STRING
    try:
        return parse(probe, value)
    except (ValueProblem, TypeError, ValueError):
        return None


def values_match(rule: RowRule, actor: Actor, model: Model, tables: Mapping[str, Any],
                 entity: Entity, values: Mapping[str, Any], conn: Connection) -> bool:
    """Whether a record about to be created with ``values`` satisfies ``rule``.

    A field compared directly is compared in Python with the same parsing; a path through a
    link is asked of the database with the same condition lists use.
    """
    if rule.own:
        return True  # the record will be created by the actor
    parts = (rule.path or "").split(".")
    wanted = actor.rule_value(rule.attribute or "")
    f = _field(entity, parts[0])
    value = values.get(parts[0])
    if len(parts) == 1:
        given = _parse(f, value)
        options = wanted if isinstance(wanted, (list, tuple, set, frozenset)) else [wanted]
        return given is not None and given in [_parse(f, w) for w in options]
    if isinstance(value, Mapping) and "id" in value:
        value = value["id"]
    ident = _parse(_SYSTEM_INTEGER, value)
    if ident is None:
        return False
    target = model.entities[f.target or ""]
    target_table = tables[target.table_name]
    inner = _path_condition(model, tables, target, target_table, parts[1:], wanted)
    found = conn.execute(select(target_table.c.id).where(target_table.c.id == ident, inner))
    return found.first() is not None

