"""Who: resolving approver slots from a record, users' roles and attributes, delegations.

A slot is a role (any user with it), a user, a field or link path naming a user
(``store.manager``), an attribute of the requester or of another user field
(``{attribute: manager}``), or the requester. Delegations let a user act, for a date
range, on whatever waits for another (``yiti_workflow_delegation``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from yiti.errors import Conflict, FieldProblem, ValidationError
from yiti.records.transaction import reading, transaction
from yiti.workflow.spec import REQUESTER, Who, Workflow
from yiti.workflow.tables import DELEGATION

if TYPE_CHECKING:
    from yiti.site import Site


def walk(site: Site, entity: str, record: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (a field, or link fields then a field) from ``record``."""
    records = site.records()
    current_entity = site.model.entities[entity]
    current: Mapping[str, Any] | None = record
    parts = path.split(".")
    for i, part in enumerate(parts):
        if current is None:
            return None
        value = current.get(part)
        if i == len(parts) - 1:
            return value
        f = current_entity.fields[part]
        if value is None:
            return None
        current_entity = site.model.entities[f.target or ""]
        current = records.get(current_entity.name, value)
    return None


def requester(site: Site, wf: Workflow, record: Mapping[str, Any]) -> str | None:
    value = walk(site, wf.entity, record, wf.requester)
    return str(value) if value else None


def user_row(site: Site, name: str) -> dict[str, Any] | None:
    t = site.tables["yiti_user"]
    with reading(site.engine) as conn:
        row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def roles_of(site: Site, name: str) -> frozenset[str]:
    users, roles = site.tables["yiti_user"], site.tables["yiti_user_role"]
    with reading(site.engine) as conn:
        return frozenset(conn.execute(
            select(roles.c.role).join(users, users.c.id == roles.c.user_id)
            .where(users.c.name == name)).scalars())


def users_with_role(site: Site, role: str) -> list[str]:
    users, roles = site.tables["yiti_user"], site.tables["yiti_user_role"]
    with reading(site.engine) as conn:
        return list(conn.execute(
            select(users.c.name).join(roles, users.c.id == roles.c.user_id)
            .where(roles.c.role == role, users.c.enabled.is_(True))
            .order_by(users.c.name)).scalars())


def resolve(site: Site, wf: Workflow, record: Mapping[str, Any], who: Who
            ) -> tuple[str | None, str | None]:
    """(assignee, role) of a slot for ``record``; Conflict when nobody fills it."""
    if who.kind == "role":
        return None, who.value
    if who.kind == "user":
        return who.value, None
    if who.kind == REQUESTER:
        name = requester(site, wf, record)
    elif who.kind == "field":
        name = walk(site, wf.entity, record, who.value)
    else:  # attribute of the requester, or of the user a field names
        owner = (walk(site, wf.entity, record, who.of) if who.of
                 else requester(site, wf, record))
        row = user_row(site, str(owner)) if owner else None
        name = (row.get("attributes") or {}).get(who.value) if row else None
        if not name:
            raise Conflict(f"nobody to approve as {who.describe()}: user {owner!r} has no "
                           f"attribute {who.value!r}; set it, or ask an administrator")
    if not name:
        raise Conflict(f"nobody to approve as {who.describe()}: the record names no user there")
    return str(name), None


def today(site: Site, now: dt.datetime) -> dt.date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(site.settings.timezone)).date()


def delegators(site: Site, user: str, now: dt.datetime) -> list[str]:
    """Users who delegated to ``user`` for today."""
    t = site.tables[DELEGATION]
    day = today(site, now)
    with reading(site.engine) as conn:
        return list(dict.fromkeys(conn.execute(select(t.c.from_user).where(
            t.c.to_user == user, t.c.starts <= day, t.c.ends >= day)).scalars()))


def delegate_of(site: Site, user: str, now: dt.datetime) -> str | None:
    """Whom ``user`` delegated to for today, if anyone."""
    t = site.tables[DELEGATION]
    day = today(site, now)
    with reading(site.engine) as conn:
        return conn.execute(select(t.c.to_user).where(
            t.c.from_user == user, t.c.starts <= day, t.c.ends >= day)
            .order_by(t.c.id.desc()).limit(1)).scalar()


def delegate(site: Site, from_user: str, to_user: str, starts: dt.date, ends: dt.date, *,
             reason: str | None = None, by: str | None = None, now: dt.datetime) -> int:
    """Let ``to_user`` act for ``from_user`` from ``starts`` to ``ends`` (inclusive)."""
    problems = []
    for key, name in (("from_user", from_user), ("to_user", to_user)):
        if user_row(site, name) is None:
            problems.append(FieldProblem(key, f"no user called {name!r}", "unknown_user"))
    if from_user == to_user:
        problems.append(FieldProblem("to_user", "cannot delegate to oneself", "invalid"))
    if ends < starts:
        problems.append(FieldProblem("ends", "must not be before starts", "invalid"))
    if problems:
        raise ValidationError(problems)
    t = site.tables[DELEGATION]
    with transaction(site.engine) as tx:
        return int(tx.conn.execute(insert(t).values(
            from_user=from_user, to_user=to_user, starts=starts, ends=ends, reason=reason,
            created_at=now, created_by=by).returning(t.c.id)).scalar_one())


def delegations(site: Site, user: str) -> list[dict[str, Any]]:
    """Delegations from or to ``user``, newest first."""
    t = site.tables[DELEGATION]
    with reading(site.engine) as conn:
        return [dict(r) for r in conn.execute(select(t).where(
            (t.c.from_user == user) | (t.c.to_user == user)).order_by(t.c.id.desc()))
            .mappings()]
