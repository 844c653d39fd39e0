"""Counters changed atomically (stock, balances, points): ``SET f = f + delta``, with each
field's ``min`` and ``max`` checked in the same statement
(see :meth:`yiti.records.service.Records.adjust`)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from yiti.db import kept_statement, run_kept
from yiti.definitions.model import Entity, label_text
from yiti.errors import FieldProblem, NotFound, ValidationError, YitiError
from yiti.records import audit
from yiti.records.statements import plain
from yiti.records.transaction import Transaction, transaction
from yiti.records.writes import loaded, title, wrote
from yiti.values import ValueProblem, parse

if TYPE_CHECKING:
    from yiti.records.service import Record, Records


def adjust(records: Records, entity: Entity,
           changes: Iterable[tuple[int, Mapping[str, Any]]]) -> list[Record]:
    """Add the deltas of ``changes`` to the records' number fields, in id order; the new
    values of each record."""
    actor, policy = records.actor, records.policy
    policy.check(actor, entity, "write", None)
    writable = policy.writable(actor, entity)
    t = records.tables[entity.table_name]
    plan = sorted(((int(ident), dict(deltas)) for ident, deltas in changes),
                  key=lambda item: item[0])
    out = []
    with transaction(records.site.engine) as tx:
        for ident, deltas in plan:
            loaded(tx).pop((t.name, ident), None)
            parsed = {}
            for name, delta in deltas.items():
                f = entity.fields.get(name)
                if f is None or f.type not in ("integer", "decimal", "money", "percent"):
                    raise ValidationError([FieldProblem(name, "is not a number field "
                                                        f"of {entity.name}")])
                if writable is not None and name not in writable:
                    raise ValidationError([FieldProblem(name, "you may not change this "
                                                        "field", "forbidden_field")])
                try:
                    parsed[name] = parse(f, delta)
                except ValueProblem as problem:
                    raise ValidationError([FieldProblem(name, problem.message,
                                                        problem.code)]) from None
            row_rule = policy.row_filter(actor, entity, t)
            params = {"_where_id": ident, "modified_at": dt.datetime.now(dt.UTC),
                      "modified_by": actor.name,
                      **{f"_delta_{name}": value for name, value in parsed.items()}}
            if row_rule is None:
                found = run_kept(tx.conn, kept_statement(
                    t, ("adjust", tuple(parsed)),
                    functools.partial(_adjustment, entity, tuple(parsed))), params)
            else:  # the actor's own row condition: a statement for this call only
                found = [plain(r) for r in tx.conn.execute(
                    _adjustment(entity, tuple(parsed), t).where(row_rule), params
                ).mappings()]
            if not found:
                raise _refused(records, tx, entity, ident, parsed)
            after_values = found[0]
            audit.add(records, tx, entity, "adjust", [(
                ident, after_values["version"],
                {n: after_values[n] - parsed[n] for n in parsed},
                {n: after_values[n] for n in parsed})])
            wrote(tx)
            out.append(after_values)
    return out


def _refused(records: Records, tx: Transaction, entity: Entity, ident: int,
             deltas: Mapping[str, Any]) -> YitiError:
    """Why an adjustment changed no row: the record is missing (or hidden), or a bound
    would be broken, named with the record's value."""
    t = records.tables[entity.table_name]
    query = select(t).where(t.c.id == ident)
    row_rule = records.policy.row_filter(records.actor, entity, t)
    if row_rule is not None:
        query = query.where(row_rule)
    current = tx.conn.execute(query).mappings().first()
    if current is None:
        return NotFound(f"{label_text(entity.label)} {ident} not found", entity=entity.name)
    problems = []
    for name, delta in deltas.items():
        f = entity.fields[name]
        value = (current[name] or 0) + delta
        low = parse(f, f.min) if f.min is not None else None
        high = parse(f, f.max) if f.max is not None else None
        if low is not None and value < low:
            problems.append(FieldProblem(name, f"{title(entity, current)} has "
                                         f"{current[name]}; {delta} would take it below "
                                         f"{low}", "min"))
        elif high is not None and value > high:
            problems.append(FieldProblem(name, f"{title(entity, current)} has "
                                         f"{current[name]}; {delta} would take it above "
                                         f"{high}", "max"))
    return ValidationError(problems or [FieldProblem("", "the change was refused")],
                           entity=entity.name)


def _adjustment(entity: Entity, names: tuple[str, ...], t: Any) -> Any:
    """``UPDATE ... SET f = f + :_delta_f`` of :func:`adjust` for the fields ``names``,
    guarded by each field's ``min`` and ``max``; returns the new values."""
    values, guards = {}, [t.c.id == bindparam("_where_id")]
    for name in names:
        f = entity.fields[name]
        changed = t.c[name] + bindparam(f"_delta_{name}", type_=t.c[name].type)
        values[name] = changed
        if f.min is not None:
            guards.append(changed >= parse(f, f.min))
        if f.max is not None:
            guards.append(changed <= parse(f, f.max))
    return (update(t).where(*guards)
            .values(**values, version=t.c.version + 1, modified_at=bindparam("modified_at"),
                    modified_by=bindparam("modified_by"))
            .returning(t.c.id, t.c.version, *(t.c[n] for n in values)))
