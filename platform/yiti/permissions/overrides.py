"""An administrator's changes to the declared permissions, kept in ``yiti_permission``.

Each override replaces the declared rule with the same key:

- ``access`` (role, entity): the actions, ``[]`` to take every action away;
- ``rows`` (role, entity): the row rules, ``[]`` to lift them;
- ``field`` (role, entity, field): ``hidden``, ``read_only`` or ``normal`` (no rule).

Removing an override brings the declared rule back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, select, update

from yiti.definitions.model import Model
from yiti.errors import FieldProblem, ValidationError, did_you_mean
from yiti.permissions.policy import ACTIONS
from yiti.permissions.rules import (
    FIELD_ACCESS,
    FieldRule,
    Grant,
    RuleSet,
    path_problem,
    row_rule,
)

KINDS = ("access", "rows", "field")


def load(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def apply(rules: RuleSet, overrides: list[Mapping[str, Any]]) -> RuleSet:
    """A new rule set: ``rules`` with ``overrides`` laid over them."""
    out = RuleSet(dict(rules.roles), dict(rules.grants), dict(rules.rows),
                  {k: dict(v) for k, v in rules.fields.items()})
    for row in overrides:
        key = (row["role"], row["entity"])
        source = f"override #{row['id']} by {row['modified_by'] or 'system'}"
        body = row["body"] or {}
        if row["kind"] == "access":
            out.grants[key] = Grant(row["role"], row["entity"],
                                    frozenset(body.get("actions") or ()), source)
        elif row["kind"] == "rows":
            out.rows[key] = tuple(row_rule(row["role"], row["entity"], spec, source)
                                  for spec in body.get("rules") or ())
        elif row["kind"] == "field":
            fields = out.fields.setdefault(key, {})
            if body.get("access") in FIELD_ACCESS:
                fields[row["field"]] = FieldRule(row["role"], row["entity"], row["field"],
                                                 body["access"], source)
            else:
                fields.pop(row["field"], None)
    return out


def validate(model: Model, kind: str, role: str, entity: str, field: str,
             body: Mapping[str, Any]) -> dict[str, Any]:
    """Check an override before it is saved; returns the body to store."""
    problems: list[FieldProblem] = []
    if kind not in KINDS:
        raise ValidationError([FieldProblem("kind", f"unknown kind {kind!r}; one of "
                                            f"{', '.join(KINDS)}", "unknown")])
    if not role or len(role) > 63:
        problems.append(FieldProblem("role", "must be 1 to 63 characters", "invalid"))
    target = model.entities.get(entity)
    if target is None and not (kind == "access" and entity == "*"):
        hint = did_you_mean(entity, model.entities)
        raise ValidationError([FieldProblem("entity", f"unknown entity {entity!r}"
                                            + (f"; {hint}" if hint else ""), "unknown")])
    if kind == "access":
        actions = body.get("actions")
        if not isinstance(actions, list) or not all(a in (*ACTIONS, "*") for a in actions):
            problems.append(FieldProblem("actions", "must be a list of "
                                         f"{', '.join(ACTIONS)} or '*'", "invalid"))
        else:
            out = {"actions": sorted(ACTIONS if "*" in actions else set(actions))}
    elif kind == "rows":
        specs = body.get("rules")
        out = {"rules": []}
        if not isinstance(specs, list):
            problems.append(FieldProblem("rules", "must be a list", "invalid"))
            specs = []
        for i, spec in enumerate(specs):
            if isinstance(spec, dict) and spec.get("own") is True and len(spec) == 1:
                out["rules"].append({"own": True})
            elif (isinstance(spec, dict) and set(spec) == {"field", "user"}
                  and isinstance(spec["field"], str) and isinstance(spec["user"], str)
                  and target is not None):
                # the same check (and hint) as yiti check gives a pack's rule
                problem = path_problem(model.entities, target, spec["field"], spec["user"])
                if problem is None:
                    out["rules"].append({"field": spec["field"], "user": spec["user"]})
                else:
                    message, hint = problem
                    problems.append(FieldProblem(f"rules[{i}].field", message
                                                 + (f"; {hint}" if hint else ""), "invalid"))
            else:
                problems.append(FieldProblem(
                    f"rules[{i}]", "must be {own: true} or {field: <field or link path>, "
                    "user: <user attribute, or name for the user's own name>}", "invalid"))
    else:
        if target is None or field not in target.fields:
            hint = did_you_mean(field, target.fields) if target else None
            problems.append(FieldProblem("field", f"unknown field {field!r}"
                                         + (f"; {hint}" if hint else ""), "unknown"))
        access = body.get("access")
        if access not in (*FIELD_ACCESS, "normal"):
            problems.append(FieldProblem("access", "must be hidden, read_only or normal",
                                         "invalid"))
        out = {"access": access}
    if problems:
        raise ValidationError(problems)
    return out


def save(engine: Engine, table: Table, *, kind: str, role: str, entity: str, field: str,
         body: Mapping[str, Any], user: str) -> None:
    """Insert or replace one override."""
    now = dt.datetime.now(dt.UTC)
    key = (table.c.kind == kind) & (table.c.role == role) & (table.c.entity == entity) & (
        table.c.field == field)
    with engine.begin() as conn:
        done = conn.execute(update(table).where(key).values(body=dict(body), modified_at=now,
                                                            modified_by=user))
        if done.rowcount == 0:
            conn.execute(insert(table).values(kind=kind, role=role, entity=entity, field=field,
                                              body=dict(body), modified_at=now,
                                              modified_by=user))


def remove(engine: Engine, table: Table, *, kind: str, role: str, entity: str,
           field: str) -> bool:
    """Remove one override (the declared rule applies again); False when there was none."""
    with engine.begin() as conn:
        done = conn.execute(delete(table).where(
            (table.c.kind == kind) & (table.c.role == role) & (table.c.entity == entity)
            & (table.c.field == field)))
    return done.rowcount > 0
