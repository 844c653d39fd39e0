"""Who: resolving approver slots from a record, users' roles and attributes, delegations.

A slot is a role (any user with it), a user, a field or link path naming a user
(``store.manager``), an attribute of the requester or of another user field
(``{attribute: manager}``), or the requester. A step opens for the slots somebody fills
(:func:`filled`): in an ``any`` step the empty ones are left out, in an ``all`` step one
empty slot refuses. Delegations let a user act, for a date
range, on whatever waits for another (``yiti_workflow_delegation``): :func:`delegate`,
:func:`delegations`, :func:`end_delegation`; a user manages their own, an administrator
anyone's (:func:`may_manage`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationError
from yiti.permissions.policy import Actor
from yiti.permissions.rules import ADMINISTRATOR
from yiti.records.transaction import reading, transaction
from yiti.workflow.spec import REQUESTER, State, Who, Workflow
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


class Unfilled(Conflict):
    """Nobody fills an approver slot for a record; ``reason`` says why."""

    def __init__(self, who: Who, reason: str) -> None:
        super().__init__(f"nobody to approve as {who.describe()}: {reason}")
        self.who, self.reason = who, reason


def resolve(site: Site, wf: Workflow, record: Mapping[str, Any], who: Who
            ) -> tuple[str | None, str | None]:
    """(assignee, role) of a slot for ``record``; :class:`Unfilled` (a Conflict) when
    nobody fills it. A role slot is always filled: whoever has the role may decide."""
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
            raise Unfilled(who, f"user {owner!r} has no attribute {who.value!r}; set it, "
                           "or ask an administrator")
    if not name:
        raise Unfilled(who, "the record names no user there")
    return str(name), None


def filled(site: Site, wf: Workflow, record: Mapping[str, Any], state: State
           ) -> list[tuple[int, str | None, str | None]]:
    """(slot, assignee, role) of each slot of approval step ``state`` somebody fills.

    In an ``all`` step every slot must be filled (each must approve): the first empty one
    refuses, as :class:`Unfilled`. In an ``any`` step one approver suffices, so empty slots
    are left out; only when every slot is empty is entering refused, naming each.
    """
    found, empty = [], []
    for i, who in enumerate(state.approvers):
        try:
            found.append((i, *resolve(site, wf, record, who)))
        except Unfilled as nobody:
            if state.mode == "all":
                raise
            empty.append(nobody)
    if not found:
        if len(empty) == 1:
            raise empty[0]
        raise Conflict("nobody to approve: " + ", nor ".join(
            f"as {e.who.describe()} ({e.reason})" for e in empty))
    return found


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


def is_administrator(actor: Actor) -> bool:
    """Whether ``actor`` manages everyone's delegations (an administrator, the system)."""
    return actor.system or ADMINISTRATOR in actor.roles


def may_manage(actor: Actor, from_user: str) -> bool:
    """Whether ``actor`` may set up or end ``from_user``'s delegations: their own, or
    anyone's for an administrator."""
    return actor.name == from_user or is_administrator(actor)


def delegation_problems(site: Site, from_user: str, to_user: str, starts: dt.date | None,
                        ends: dt.date | None, *, now: dt.datetime) -> list[FieldProblem]:
    """What is wrong with a delegation, each problem naming its field: an unknown or
    disabled user, oneself, an end before the start or before today, and a period that
    overlaps another delegation of ``from_user`` (one stand-in at a time). ``None`` dates
    were refused by the caller already and are not checked again."""
    problems = []
    for key, name in (("from_user", from_user), ("to_user", to_user)):
        row = user_row(site, name) if name else None
        if not name:
            problems.append(FieldProblem(key, "is required: a user's name", "required"))
        elif row is None:
            problems.append(FieldProblem(key, f"no user called {name!r}", "unknown_user"))
        elif key == "to_user" and not row.get("enabled", True):
            problems.append(FieldProblem(key, f"user {name!r} is disabled", "disabled_user"))
    if from_user and from_user == to_user:
        problems.append(FieldProblem("to_user", "cannot delegate to oneself", "invalid"))
    if starts is None or ends is None:
        return problems
    day = today(site, now)
    if ends < starts:
        problems.append(FieldProblem("ends", "must not be before starts", "invalid"))
    elif ends < day:
        problems.append(FieldProblem("ends", f"is in the past (today is {day})", "invalid"))
    t = site.tables[DELEGATION]
    with reading(site.engine) as conn:
        clash = conn.execute(select(t).where(
            t.c.from_user == from_user, t.c.starts <= ends, t.c.ends >= starts)
            .order_by(t.c.starts).limit(1)).mappings().first()
    if clash is not None:
        problems.append(FieldProblem(
            "starts", f"{from_user} already delegates to {clash['to_user']} from "
            f"{clash['starts']} to {clash['ends']}; end that delegation first", "overlap"))
    return problems


def delegate(site: Site, from_user: str, to_user: str, starts: dt.date, ends: dt.date, *,
             reason: str | None = None, by: str | None = None, now: dt.datetime) -> int:
    """Let ``to_user`` act for ``from_user`` from ``starts`` to ``ends`` (inclusive); its
    id. Refused with every :func:`delegation_problems` at once (422)."""
    problems = delegation_problems(site, from_user, to_user, starts, ends, now=now)
    if reason is not None and not isinstance(reason, str):
        problems.append(FieldProblem("reason", "must be text", "type"))
    if problems:
        raise ValidationError(problems)
    t = site.tables[DELEGATION]
    with transaction(site.engine) as tx:
        return int(tx.conn.execute(insert(t).values(
            from_user=from_user, to_user=to_user, starts=starts, ends=ends,
            reason=reason or None, created_at=now, created_by=by).returning(t.c.id))
            .scalar_one())


def delegation(site: Site, ident: int, *, now: dt.datetime) -> dict[str, Any] | None:
    """Delegation ``ident`` with its status, or None."""
    t = site.tables[DELEGATION]
    with reading(site.engine) as conn:
        row = conn.execute(select(t).where(t.c.id == ident)).mappings().first()
    return _status(site, dict(row), now) if row is not None else None


def _status(site: Site, row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    day = today(site, now)
    row["status"] = ("upcoming" if row["starts"] > day else
                     "ended" if row["ends"] < day else "active")
    return row


def delegations(site: Site, user: str | None, *, now: dt.datetime | None = None
                ) -> list[dict[str, Any]]:
    """Delegations from or to ``user`` (every one for None), newest first; with ``now``
    each says whether it is ``upcoming``, ``active`` or ``ended``."""
    t = site.tables[DELEGATION]
    query = select(t).order_by(t.c.starts.desc(), t.c.id.desc())
    if user is not None:
        query = query.where((t.c.from_user == user) | (t.c.to_user == user))
    with reading(site.engine) as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return [_status(site, row, now) for row in rows] if now is not None else rows



def visible_delegations(site: Site, actor: Actor, user: str | None = None,
                        everyone: bool = False, *, now: dt.datetime
                        ) -> list[dict[str, Any]]:
    """The delegations ``actor`` may see: their own (given and received), or for an
    administrator ``user``'s or everyone's."""
    if (user not in (None, "", actor.name) or everyone) and not is_administrator(actor):
        raise Forbidden("only an administrator may see others' delegations", field="user")
    return delegations(site, None if everyone else (user or actor.name), now=now)

def end_delegation(site: Site, actor: Actor, ident: int, *, now: dt.datetime
                   ) -> dict[str, Any] | None:
    """End delegation ``ident`` today: one that has not started is removed (None is
    returned), one that has ends yesterday (kept, so the history of who stood in stays
    explained; returned as it is now). Only its delegator or an administrator may."""
    t = site.tables[DELEGATION]
    with transaction(site.engine) as tx:
        row = tx.conn.execute(select(t).where(t.c.id == ident)).mappings().first()
        if row is None or not (may_manage(actor, row["from_user"])
                               or actor.name == row["to_user"]):
            raise NotFound(f"no delegation {ident} of yours")
        if not may_manage(actor, row["from_user"]):
            raise Forbidden(f"only {row['from_user']} (or an administrator) may end "
                            f"delegation {ident}", delegation=ident)
        day = today(site, now)
        if row["starts"] >= day:
            tx.conn.execute(delete(t).where(t.c.id == ident))
            return None
        ends = min(row["ends"], day - dt.timedelta(days=1))
        tx.conn.execute(update(t).where(t.c.id == ident).values(ends=ends))
        return {**dict(row), "ends": ends, "status": "ended"}
