"""Taking an action on a record: the guard, the write, the tasks, the history.

:meth:`Workflows.act` does it all in one transaction through the record service
(:meth:`yiti.records.service.Records.transition`): the actor must see the record, the
action must leave the record's current state (409 otherwise), the actor must be one of
those allowed (403), the first transition whose condition holds is taken (409 when none
does), a required comment must be there (422), the transition's declared inputs must be
given and valid (422, naming each). The record's row is locked first and its version
guards the write: of two actors acting at once, one wins and the other gets a 409. Hooks of the states left and entered run
after the write in the same transaction and may write the record themselves (its lines,
say): the state guard lets them, and the record returned is the one stored after them.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from yiti.db import kept_statement, run_kept
from yiti.definitions.model import label_text
from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationError, did_you_mean
from yiti.messages import Message
from yiti.permissions.policy import SYSTEM, Actor
from yiti.records.locks import lock
from yiti.records.transaction import current, reading, transaction
from yiti.workflow import actions, approvers
from yiti.workflow.refusals import ConditionFailed
from yiti.workflow.spec import BACK, BY_SYSTEM, REQUESTER, State, Transition, Workflow
from yiti.workflow.tables import HISTORY, TASK

if TYPE_CHECKING:
    from yiti.site import Site

#: (entity, id) of the record a transition is writing: the state guard lets it through.
_writing: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "yiti_workflow_writing", default=None)
MAX_CHAIN = 10


@dataclass
class Creation:
    """A record being created through an action (:meth:`Workflows.create`): the guard
    hooks of :mod:`yiti.workflow.guard` pick the transition when the values are parsed
    and, after the insert, write its history row."""

    entity: str
    transitions: tuple[Transition, ...]  # those the actor may take, in the file's order
    actor: Actor
    behalf: str | None
    comment: str | None
    inputs: Mapping[str, Any] | None
    at: dt.datetime
    chosen: Transition | None = None
    context: dict[str, Any] = field(default_factory=dict)
    doc: dict[str, Any] | None = None  # the new record's values, as the hooks see them


#: The creation under way, if any.
_creating: contextvars.ContextVar[Creation | None] = contextvars.ContextVar(
    "yiti_workflow_creating", default=None)


class Workflows:
    """The workflows of one site. Get it with :func:`yiti.workflow.install`."""

    def __init__(self, site: Site, by_entity: Mapping[str, Workflow], clock: Any = None
                 ) -> None:
        self.site = site
        self.by_entity = dict(by_entity)
        self.clock = clock

    # -- helpers ----------------------------------------------------------------------

    def now(self) -> dt.datetime:
        if self.clock is not None:
            return self.clock.now()
        jobs = getattr(self.site, "jobs", None)
        return jobs.now() if jobs is not None else dt.datetime.now(dt.UTC)

    def of(self, entity: str) -> Workflow:
        wf = self.by_entity.get(entity)
        if wf is None:
            raise NotFound(f"{entity} has no workflow")
        return wf

    def subject(self, wf: Workflow, record: Mapping[str, Any]) -> Message:
        """The record as a refusal names it (its entity's label and name), in the reader's
        language (:mod:`yiti.messages`)."""
        entity = self.site.model.entities[wf.entity]
        return Message("%(entity)s %(name)s", entity=entity.label,
                       name=record.get("name") or record.get("id"))

    def state_text(self, wf: Workflow, name: str) -> Any:
        """A state's label (its languages) for a message, else its name."""
        state = wf.states.get(name)
        return state.label if state and state.label else name

    def state_label(self, wf: Workflow, name: str, lang: str = "en") -> str:
        return label_text(self.state_text(wf, name), lang)

    def watched_hash(self, wf: Workflow, record: Mapping[str, Any]) -> str:
        entity = self.site.model.entities[wf.entity]
        names = wf.watched or [f for f in entity.fields if f != wf.state_field]
        values = {}
        for name in names:
            value = record.get(name)
            if isinstance(value, list):
                child = self.site.model.entities[entity.fields[name].target or ""]
                value = [{k: line.get(k) for k in child.fields} for line in value]
            values[name] = value
        text = json.dumps(values, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def open_tasks(self, wf: Workflow, record_id: int, state: str | None = None
                   ) -> list[dict[str, Any]]:
        t = self.site.tables[TASK]
        query = select(t).where(t.c.entity == wf.entity, t.c.record_id == record_id,
                                t.c.status == "open").order_by(t.c.id)
        if state is not None:
            query = query.where(t.c.state == state)
        with reading(self.site.engine) as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- who may act ------------------------------------------------------------------

    def _holds(self, actor: Actor, task: Mapping[str, Any], behalf: Mapping[str, frozenset[str]]
               ) -> str | None:
        """Whom ``actor`` acts for on ``task`` (themselves, or a delegator), or None."""
        for user, roles in behalf.items():
            if task["assignee"] == user or (task["role"] and task["role"] in roles):
                return user
        return None

    def _behalf(self, actor: Actor) -> dict[str, frozenset[str]]:
        """The actor and the users who delegated to them today, with their roles."""
        out = {actor.name: frozenset(actor.roles)}
        for user in approvers.delegators(self.site, actor.name, self.now()):
            out.setdefault(user, approvers.roles_of(self.site, user))
        return out

    def allowed(self, actor: Actor, wf: Workflow, t: Transition, record: Mapping[str, Any],
                tasks: list[dict[str, Any]], behalf: dict[str, frozenset[str]] | None = None
                ) -> tuple[bool, str | None, dict[str, Any] | None]:
        """(may act, on whose behalf, the task they complete) for transition ``t``;
        ``behalf`` is the actor's :meth:`_behalf` when the caller has it already."""
        if actor.system:
            return True, None, None
        found = self._allowed(actor, wf, t, record, tasks,
                              {actor.name: frozenset(actor.roles)})
        if found[0]:
            return found  # as themselves: no need to look for delegations
        behalf = behalf if behalf is not None else self._behalf(actor)
        return self._allowed(actor, wf, t, record, tasks, behalf) if len(behalf) > 1 \
            else found

    def _allowed(self, actor: Actor, wf: Workflow, t: Transition, record: Mapping[str, Any],
                 tasks: list[dict[str, Any]], behalf: Mapping[str, frozenset[str]]
                 ) -> tuple[bool, str | None, dict[str, Any] | None]:
        state = wf.states[record[wf.state_field]]
        if t.by:
            for who in t.by:
                if who.kind == BY_SYSTEM:
                    continue  # the system was let through above
                if who.kind == "role":
                    for user, roles in behalf.items():
                        if who.value in roles:
                            return True, _other(user, actor), _task_of(tasks, user, behalf)
                    continue
                try:
                    name, _ = approvers.resolve(self.site, wf, record, who)
                except Conflict:
                    continue
                if name in behalf:
                    return True, _other(name, actor), _task_of(tasks, name, behalf)
            return False, None, None
        if state.is_approval:
            for task in tasks:
                user = self._holds(actor, task, behalf)
                if user is not None:
                    return True, _other(user, actor), task
            return False, None, None
        entity = self.site.model.entities[wf.entity]
        try:
            self.site.policy.check(actor, entity, "write", record)
        except (Forbidden, NotFound):
            return False, None, None
        return True, None, None

    def available(self, actor: Actor, entity: str, record: Mapping[str, Any], *,
                  behalf: dict[str, frozenset[str]] | None = None,
                  tasks: list[dict[str, Any]] | None = None) -> list[Transition]:
        """The transitions ``actor`` may take on ``record`` now (one per action); a list of
        records (the inbox) passes the actor's :meth:`_behalf` once for all of them, and
        each record's open tasks in its state (``tasks``), read for all at once."""
        wf = self.by_entity.get(entity)
        if wf is None:
            return []
        state = wf.states.get(record.get(wf.state_field) or "")
        if state is None or not state.is_approval:
            tasks = []  # only steps have tasks
        elif tasks is None:
            tasks = self.open_tasks(wf, record["id"], record.get(wf.state_field))
        out: dict[str, Transition] = {}
        for t in wf.leaving(record.get(wf.state_field) or ""):
            if t.action in out:
                continue
            if t.condition and not actions.holds(self.site, wf, t.condition, record, actor):
                continue
            if self.allowed(actor, wf, t, record, tasks, behalf)[0]:
                out[t.action] = t
        return list(out.values())

    # -- acting -------------------------------------------------------------------------

    def act(self, actor: Actor, entity: str, ident: int | str, action: str, *,
            comment: str | None = None, version: int | None = None, to: str | None = None,
            inputs: Mapping[str, Any] | None = None, at: dt.datetime | None = None,
            carry: bool = False, depth: int = 0) -> dict[str, Any]:
        """Take ``action`` on the record; returns it as stored afterwards.

        ``inputs`` are the values the transition declares (``inputs:``); ``at`` (the system
        only: imports, demo data) records an action that happened earlier.
        """
        if at is not None and not actor.system:
            raise Forbidden("only the system may record an action at another time",
                            entity=entity, action=action)
        wf = self.of(entity)
        records = self.site.records(actor)
        with transaction(self.site.engine):
            # the row is locked first: of two actions at once the second waits, then sees
            # the first's state (a 409 before any hook ran, never a half-taken action)
            record = lock(records, entity, ident)
            current = record.get(wf.state_field) or wf.initial.name
            state = wf.states.get(current) or wf.initial
            if action not in wf.actions():
                raise NotFound(f"the {wf.name} workflow has no action {action!r}"
                               + (f"; {h}" if (h := did_you_mean(action, wf.actions())) else ""))
            options = wf.leaving(current, action)
            if not options:
                possible = ", ".join(t.action for t in wf.leaving(current)) or "none"
                raise Conflict(Message(
                    "%(record)s is %(state)s; %(action)s is not possible there (possible: "
                    "%(possible)s)", record=self.subject(wf, record),
                    state=self.state_text(wf, current), action=f"'{action}'",
                    possible=possible), record=record["id"], state=current)
            tasks = self.open_tasks(wf, record["id"], current) if state.is_approval else []
            permitted = [(t, *self.allowed(actor, wf, t, record, tasks)) for t in options]
            permitted = [p for p in permitted if p[1]]
            if not permitted:
                waiting = ", ".join(sorted({task["assignee"] or f"role {task['role']}"
                                            for task in tasks})) or "someone else"
                raise Forbidden(Message(
                    "you may not %(action)s %(record)s: it waits for %(waiting)s",
                    action=action, record=self.subject(wf, record), waiting=waiting)
                    if state.is_approval else Message(
                    "you may not %(action)s %(record)s", action=action,
                    record=self.subject(wf, record)), entity=entity, action=action)
            chosen = next((p for p in permitted if not p[0].condition or actions.holds(
                self.site, wf, p[0].condition, record, actor)), None)
            if chosen is None:
                raise ConditionFailed(self.site.model.entities[wf.entity].label,
                                      record.get("name") or record.get("id"), action,
                                      [p[0] for p in permitted], record=record["id"])
            t, _, behalf, task = chosen
            if t.comment_required and not (comment or "").strip():
                raise ValidationError([FieldProblem(
                    "comment", Message("a reason is required to %(action)s",
                                       action=t.label or t.action), "required")])
            given = actions.read_inputs(self.site, t, inputs, records)
            target = self._target(wf, t, record, to)
            if t.approves and state.is_approval and state.mode == "all" and not actor.system:
                if task is None:
                    raise Forbidden(Message("you have no part in the countersign of "
                                            "%(record)s", record=self.subject(wf, record)),
                                    entity=entity, action=action)
                others = [x for x in tasks if x["id"] != task["id"]]
                if others:
                    return self._countersign(wf, records, record, t, task, actor, behalf,
                                             comment, version, given)
            return self._move(wf, records, record, state, t, target, actor, behalf, task,
                              comment, version, carry=carry or not state.is_approval,
                              depth=depth, inputs=given, at=at or self.now())

    def create(self, actor: Actor, entity: str, values: Mapping[str, Any], action: str, *,
               comment: str | None = None, inputs: Mapping[str, Any] | None = None,
               at: dt.datetime | None = None, behalf: str | None = None) -> dict[str, Any]:
        """Create a record and take ``action`` from the initial state at once: one insert,
        already in the state the action enters, and its history row.

        The same checks as :meth:`act` (the action must leave the initial state: 409; the
        actor must be allowed: 403; a condition, over the values as they will be stored,
        must hold: 409; a required comment, the inputs: 422) and the same steps (the
        initial state's ``on_enter``, its ``on_leave``, the transition's ``set``, the
        entered state's ``on_enter`` and approval tasks). ``at`` and ``behalf`` are the
        system's only: pack code creating a record for a user it has checked (a customer
        placing an order) names them in the history's ``on_behalf_of``.
        """
        if (at is not None or behalf is not None) and not actor.system:
            raise Forbidden("only the system may record an action at another time or on "
                            "someone's behalf", entity=entity, action=action)
        wf = self.of(entity)
        initial = wf.initial
        if action not in wf.actions():
            raise NotFound(f"the {wf.name} workflow has no action {action!r}"
                           + (f"; {h}" if (h := did_you_mean(action, wf.actions())) else ""))
        options = [t for t in wf.leaving(initial.name, action) if t.target != BACK]
        if not options:
            possible = ", ".join(t.action for t in wf.leaving(initial.name)) or "none"
            raise Conflict(f"a new {label_text(self.site.model.entities[entity].label)} is "
                           f"{self.state_label(wf, initial.name)}; '{action}' is not possible "
                           f"there (possible: {possible})", state=initial.name)
        draft = {**values, wf.state_field: initial.name}
        permitted = tuple(t for t in options if self.allowed(actor, wf, t, draft, [])[0])
        if not permitted:
            raise Forbidden(f"you may not {action} a new "
                            f"{label_text(self.site.model.entities[entity].label)}",
                            entity=entity, action=action)
        creation = Creation(entity, permitted, actor, behalf, comment, inputs,
                            at or self.now())
        token = _creating.set(creation)
        try:
            record = self.site.records(actor).create(entity, values)
        finally:
            _creating.reset(token)
        if creation.chosen is None:  # the guard hooks are not installed on this site
            raise Conflict(f"{entity}: the workflow's hooks did not run; install the engine "
                           "with yiti.workflow.install(site)")
        return record

    def _target(self, wf: Workflow, t: Transition, record: Mapping[str, Any],
                to: str | None) -> str:
        if t.target != BACK:
            return t.target
        earlier = self.earlier_steps(wf, record)
        if not to:
            raise ValidationError([FieldProblem("to", "say which earlier step to send it "
                                                f"back to: {', '.join(earlier) or 'none'}",
                                                "required")])
        if to not in earlier:
            raise ValidationError([FieldProblem(
                "to", f"{to!r} is not an earlier step of this record "
                f"(earlier: {', '.join(earlier) or 'none'})", "invalid")])
        return to

    def earlier_steps(self, wf: Workflow, record: Mapping[str, Any]) -> list[str]:
        """Approval steps the record passed since it was last submitted."""
        h = self.site.tables[HISTORY]
        self._flush_history()
        with reading(self.site.engine) as conn:
            rows = conn.execute(select(h.c.from_state, h.c.to_state).where(
                h.c.entity == wf.entity, h.c.record_id == record["id"]).order_by(h.c.id)).all()
        seen: list[str] = []
        for source, target in rows:
            if source is not None and not (wf.states.get(source) or wf.initial).is_approval:
                seen = []
            if target in wf.states and wf.states[target].is_approval and target not in seen:
                seen.append(target)
        current = record.get(wf.state_field)
        return [s for s in seen if s != current]

    def _countersign(self, wf: Workflow, records: Any, record: dict[str, Any], t: Transition,
                     task: dict[str, Any], actor: Actor, behalf: str | None,
                     comment: str | None, version: int | None,
                     inputs: Mapping[str, Any]) -> dict[str, Any]:
        """One approval of an 'all' step that is not the last: the record stays."""
        self._close_task(task, "approved", actor, record, wf)
        new = self._write(wf, records, record, {}, t.action, version, None)
        self._history(wf, record, new, t.action, record[wf.state_field],
                      record[wf.state_field], actor, behalf, comment, inputs=inputs)
        return new

    def _move(self, wf: Workflow, records: Any, record: dict[str, Any], state: State,
              t: Transition, target: str, actor: Actor, behalf: str | None,
              task: dict[str, Any] | None, comment: str | None, version: int | None, *,
              carry: bool, depth: int, inputs: Mapping[str, Any] | None = None,
              at: dt.datetime | None = None) -> dict[str, Any]:
        entering = wf.states[target]
        at = at or self.now()
        context = {"action": t.action, "from": state.name, "to": target, "user": actor.name,
                   "comment": comment, "inputs": dict(inputs or {}), "at": at}
        # A transition to the state it leaves (a job's `escalate` that only sets values)
        # stays there: the state is not left nor entered again, so its on_leave/on_enter
        # steps do not run again (no second "waits for your approval") and its open
        # approval tasks stay as they are, their waiting time included.
        if target == state.name:
            entering = replace(state, on_enter=(), on_leave=(), approvers=())
            state = entering
        values: dict[str, Any] = {}
        for step in state.on_leave:
            values.update(actions.compute(self.site, wf, step, {**record, **values}, actor,
                                          context))
        values.update(actions.evaluate_set(self.site, wf, t.set, {**record, **values}, actor,
                                           context))
        for step in entering.on_enter:
            values.update(actions.compute(self.site, wf, step, {**record, **values}, actor,
                                          context))
        values[wf.state_field] = target
        docstatus = ("submitted" if entering.submitted else
                     "cancelled" if entering.cancelled else None)
        # the hooks belong to the transition: the state guard lets their writes through
        token = _writing.set((wf.entity, record["id"]))
        try:
            new = self._write(wf, records, record, values, t.action, version, docstatus)
            # tasks of the step left: the actor's decides, the others close
            if task is not None:
                self._close_task(task, "approved" if t.approves else "rejected", actor,
                                 record, wf)
            if state.is_approval:
                closing = ("escalated" if target != state.name and state.escalate == t.action
                           else "closed")
                self._close_open(wf, record["id"], state.name, closing)
            self._history(wf, record, new, t.action, state.name, target, actor, behalf,
                          comment, at=at, inputs=inputs)
            for step in state.on_leave:
                actions.after(self, wf, step, new, record, actor, state, context)
            if entering.is_approval:
                self._enter_step(wf, new, entering)
            for step in entering.on_enter:
                actions.after(self, wf, step, new, record, actor, entering, context)
            if any(step.kind == "hook" and not step.before_write
                   for step in (*state.on_leave, *entering.on_enter)):
                new = records.get(wf.entity, new["id"])  # as the hooks left it
        finally:
            _writing.reset(token)
        actions.emit(self.site, wf, new, actor, state.name, target, t.action)
        if entering.is_approval and carry and depth < MAX_CHAIN:
            carried = self._carry_over(wf, new, entering)
            if carried is not None:
                return self.act(SYSTEM, wf.entity, new["id"], carried,
                                comment="approved earlier; carried over on resubmission",
                                carry=True, depth=depth + 1)
        return new

    def _write(self, wf: Workflow, records: Any, record: Mapping[str, Any],
               values: dict[str, Any], action: str, version: int | None,
               docstatus: str | None) -> dict[str, Any]:
        token = _writing.set((wf.entity, record["id"]))
        try:
            return records.transition(wf.entity, record["id"], values, action=action,
                                      version=record["version"] if version is None else version,
                                      docstatus=docstatus)
        finally:
            _writing.reset(token)

    # -- tasks and history ----------------------------------------------------------------

    def _enter_step(self, wf: Workflow, record: Mapping[str, Any], state: State) -> None:
        now = self.now()
        due = now + dt.timedelta(seconds=state.time_limit) if state.time_limit else None
        t = self.site.tables[TASK]
        rows = []
        # one task per filled slot: an 'any' step opens for whoever is there
        for i, assignee, role in approvers.filled(self.site, wf, record, state):
            who = state.approvers[i]
            rows.append({"entity": wf.entity, "record_id": record["id"], "workflow": wf.name,
                         "state": state.name, "slot": i, "assignee": assignee, "role": role,
                         "slot_label": label_text(who.label) or who.describe(),
                         "status": "open", "created_at": now, "due_at": due,
                         "carried": False})
        with transaction(self.site.engine) as tx:
            tx.conn.execute(insert(t), rows)
        if due is not None:
            from yiti.workflow.escalation import schedule

            schedule(self, wf, record, state)

    def _close_task(self, task: Mapping[str, Any], status: str, actor: Actor,
                    record: Mapping[str, Any], wf: Workflow) -> None:
        t = self.site.tables[TASK]
        with transaction(self.site.engine) as tx:
            done = tx.conn.execute(update(t).where(t.c.id == task["id"], t.c.status == "open")
                                   .values(status=status, acted_by=actor.name,
                                           acted_at=self.now(),
                                           watched_hash=self.watched_hash(wf, record)))
            if done.rowcount != 1:
                raise Conflict(Message("%(record)s was decided by someone else since you "
                                       "opened it; reload it",
                                       record=self.subject(wf, record)), record=record["id"])

    def _close_open(self, wf: Workflow, record_id: int, state: str, status: str) -> None:
        t = self.site.tables[TASK]
        with transaction(self.site.engine) as tx:
            tx.conn.execute(update(t).where(
                t.c.entity == wf.entity, t.c.record_id == record_id, t.c.state == state,
                t.c.status == "open").values(status=status, acted_at=self.now()))

    def _carry_over(self, wf: Workflow, record: Mapping[str, Any], state: State) -> str | None:
        """Approvals given earlier with the same watched values count again: mark them and
        return the approving action when the step is thereby decided."""
        t = self.site.tables[TASK]
        current = self.watched_hash(wf, record)
        carried = 0
        with transaction(self.site.engine) as tx:
            for task in self.open_tasks(wf, record["id"], state.name):
                last = tx.conn.execute(select(t).where(
                    t.c.entity == wf.entity, t.c.record_id == record["id"],
                    t.c.state == state.name, t.c.slot == task["slot"],
                    t.c.status.in_(("approved", "rejected"))).order_by(t.c.id.desc()).limit(1)
                ).mappings().first()
                if last is None or last["status"] != "approved" or \
                        last["watched_hash"] != current:
                    continue
                tx.conn.execute(update(t).where(t.c.id == task["id"]).values(
                    status="approved", carried=True, acted_by=last["acted_by"],
                    acted_at=self.now(), watched_hash=current))
                carried += 1
        needed = len(state.approvers) if state.mode == "all" else 1
        if carried < needed:
            return None
        self._close_open(wf, record["id"], state.name, "closed")
        for tr in wf.leaving(state.name):
            if tr.approves:
                return tr.action
        return None

    def _history(self, wf: Workflow, before: Mapping[str, Any], after: Mapping[str, Any],
                 action: str, source: str | None, target: str | None, actor: Actor,
                 behalf: str | None, comment: str | None, at: dt.datetime | None = None,
                 inputs: Mapping[str, Any] | None = None) -> None:
        from yiti.jobs.jsonable import jsonable

        h = self.site.tables[HISTORY]
        with transaction(self.site.engine) as tx:
            # sent with the COMMIT (one round trip fewer per action); a read of the
            # history in the same transaction writes it first (_flush_history)
            tx.with_commit.append((kept_statement(h, "insert", insert), {
                "entity": wf.entity, "record_id": after["id"], "workflow": wf.name,
                "action": action, "from_state": source, "to_state": target,
                "user": actor.name, "on_behalf_of": behalf, "at": at or self.now(),
                "comment": comment or None, "version": after["version"],
                "inputs": jsonable(dict(inputs)) if inputs else None,
                "snapshot": jsonable(dict(before))}))

    def _flush_history(self) -> None:
        """Write the history rows of the current transaction that wait for its COMMIT,
        in their order, so that a read in the transaction sees them."""
        tx = current(self.site.engine)
        if tx is None:
            return
        stmt = kept_statement(self.site.tables[HISTORY], "insert", insert)
        waiting = [w for w in tx.with_commit if w[0] is stmt]
        if waiting:
            tx.with_commit[:] = [w for w in tx.with_commit if w[0] is not stmt]
            for _stmt, params in waiting:
                run_kept(tx.conn, stmt, params)

    def history(self, actor: Actor, entity: str, ident: int | str) -> list[dict[str, Any]]:
        """The record's workflow history, oldest first (needs read access)."""
        wf = self.of(entity)
        record = self.site.records(actor).get(entity, ident)
        readable = self.site.policy.readable(actor, self.site.model.entities[entity])
        h = self.site.tables[HISTORY]
        self._flush_history()
        with reading(self.site.engine) as conn:
            rows = [dict(r) for r in conn.execute(select(h).where(
                h.c.entity == wf.entity, h.c.record_id == record["id"]).order_by(h.c.id))
                .mappings()]
        for row in rows:
            if readable is not None and row["snapshot"]:
                row["snapshot"] = {k: v for k, v in row["snapshot"].items()
                                   if k in readable or k not in
                                   self.site.model.entities[entity].fields}
        return rows


def creating(entity: str) -> Creation | None:
    """The creation through an action under way for ``entity``, if any."""
    creation = _creating.get()
    return creation if creation is not None and creation.entity == entity else None


@contextlib.contextmanager
def effects(entity: str, ident: int) -> Iterator[None]:
    """Writes to the record inside are an action's own effects, as its hooks' are: the
    state and locked-field guards let them through. For pack code finishing, in the same
    transaction, an action it has just taken (the reservation of a placed order)."""
    token = _writing.set((entity, ident))
    try:
        yield
    finally:
        _writing.reset(token)


def writing() -> tuple[str, int] | None:
    """The record a workflow transition is writing now, if any."""
    return _writing.get()


def _other(user: str, actor: Actor) -> str | None:
    return None if user == actor.name else user


def _task_of(tasks: list[dict[str, Any]], user: str, behalf: Mapping[str, frozenset[str]]
             ) -> dict[str, Any] | None:
    roles = behalf.get(user, frozenset())
    for task in tasks:
        if task["assignee"] == user or (task["role"] and task["role"] in roles):
            return task
    return None


__all__ = ["REQUESTER", "Creation", "Workflows", "creating", "effects", "writing"]
