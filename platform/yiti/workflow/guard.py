"""Record hooks that start a record in its workflow and keep its state field and locked
fields out of ordinary edits.

``start_state`` (``before_validate``): a new record starts in the initial state, and the
``set`` and ``script`` steps of that state's ``on_enter`` give their values (computed over
the record's parsed values, then checked like any value, saved and audited with the
create); an ordinary update may not change the state field (only an action may).
``started`` (``after_save`` of a create): the initial state's approval tasks are opened
and its ``hook`` and ``notify`` steps run, in the create's transaction (a hook that raises
undoes the create). A record the system creates in another state (an import of old
documents) runs none of this. ``guard_fields`` (``validate``, once values are parsed): in a
state with ``editable``, ordinary updates may change only those fields. Both guards refuse
with an error naming each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from yiti.definitions.model import label_text
from yiti.errors import Conflict, FieldProblem, NotFound, ValidationError
from yiti.permissions.explain import Explanation
from yiti.records.hooks import HookContext
from yiti.values import copy_value
from yiti.workflow import actions
from yiti.workflow.engine import Creation, _writing, creating, writing
from yiti.workflow.refusals import ConditionFailed


def _workflow(site: Any, entity: str) -> Any:
    """The workflow of ``entity`` on ``site``, or None."""
    engine = getattr(site, "workflows", None)
    return engine.by_entity.get(entity) if engine is not None else None


def start_state(doc: dict[str, Any], ctx: HookContext) -> None:
    wf = _workflow(ctx.records.site, ctx.entity)
    if wf is None:
        return
    field = wf.state_field
    if ctx.old is None:
        given = doc.get(field)
        creation = creating(ctx.entity)
        if creation is not None and creation.doc is None:
            if given not in (None, "", wf.initial.name):
                raise ValidationError([FieldProblem(
                    field, f"is set by the {wf.name} workflow: the record is created "
                    f"{wf.initial.name!r}, then {creation.transitions[0].action!r} moves it",
                    "workflow_state")], entity=ctx.entity)
            doc[field] = wf.initial.name
            doc.update(_through(wf, doc, ctx, creation))
            return
        if given not in (None, "", wf.initial.name) and not ctx.records.actor.system:
            raise ValidationError([FieldProblem(
                field, f"is set by the {wf.name} workflow: a new record starts as "
                f"{wf.initial.name!r}", "workflow_state")], entity=ctx.entity)
        if given in (None, ""):
            doc[field] = wf.initial.name
        if doc[field] == wf.initial.name:
            doc.update(_entering_values(wf, doc, ctx))
        return
    if writing() == (ctx.entity, ctx.old.get("id")):
        return
    if doc.get(field) != ctx.old.get(field):
        possible = ", ".join(t.action for t in wf.leaving(ctx.old.get(field) or "")) or "none"
        raise ValidationError([FieldProblem(
            field, f"is changed only by the {wf.name} workflow's actions "
            f"(from here: {possible})", "workflow_state")], entity=ctx.entity)


def _creation(wf: Any, ctx: HookContext) -> dict[str, Any]:
    """What a create's workflow steps see of the action: it is the ``create``."""
    engine = ctx.records.site.workflows
    actor = ctx.records.actor
    return {"action": "create", "from": None, "to": wf.initial.name, "user": actor.name,
            "comment": None, "inputs": {}, "at": engine.now()}


def _entering_values(wf: Any, doc: Mapping[str, Any], ctx: HookContext) -> dict[str, Any]:
    """The values the initial state's ``set``, ``script`` and ``before_write`` hook steps
    give a new record (such a hook sees it before the insert: it has no id yet)."""
    steps = [s for s in wf.initial.on_enter if _computed(s)]
    if not steps:
        return {}
    records = ctx.records
    site = records.site
    view = _parsed(records, ctx.entity, doc)
    if view is None:
        return {}
    context = _creation(wf, ctx)
    values: dict[str, Any] = {}
    for step in steps:
        values.update(actions.compute(site, wf, step, {**view, **values}, records.actor,
                                      context))
    return values


def _parsed(records: Any, entity_name: str, doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The values as they will be stored (parsed, formula fields derived, the creator
    as the requester); None when they do not pass the field checks (the create fails on
    its own checks: they say why)."""
    from yiti.records import formulas
    from yiti.records.validate import clean

    entity = records.model.entities[entity_name]
    view = copy_value(dict(doc))
    if clean(records.model, entity, view, timezone=records.site.settings.timezone):
        return None
    formulas.derive(records.model, entity, view)
    view.setdefault("created_by", records.actor.name)
    return view


def _computed(step: Any) -> bool:
    """A step whose values are saved with the write (``set``, ``script``, a
    ``before_write`` hook)."""
    return step.kind in ("set", "script") or (step.kind == "hook" and step.before_write)


def _through(wf: Any, doc: Mapping[str, Any], ctx: HookContext, creation: Creation
             ) -> dict[str, Any]:
    """A record created through an action (:meth:`Workflows.create`): the values of the
    initial state's entry, the transition whose condition holds and the values it gives
    (the initial state's ``on_leave``, its ``set``, the entered state's ``on_enter``)."""
    creation.doc = doc  # taken: a record the steps create is an ordinary one
    records = ctx.records
    site = records.site
    actor = records.actor
    initial = wf.initial
    entering_steps = [s for s in initial.on_enter if _computed(s)]
    needs_view = entering_steps or any(
        t.condition or t.set or any(_computed(s) for s in (*initial.on_leave,
                                                           *wf.states[t.target].on_enter))
        for t in creation.transitions)
    view: dict[str, Any] = {}
    if needs_view:
        parsed = _parsed(records, ctx.entity, doc)
        if parsed is None:
            return {}
        view = parsed
    values: dict[str, Any] = {}
    for step in entering_steps:
        values.update(actions.compute(site, wf, step, {**view, **values}, actor,
                                      _creation(wf, ctx)))
    chosen = next((t for t in creation.transitions if not t.condition or actions.holds(
        site, wf, t.condition, {**view, **values}, actor)), None)
    if chosen is None:
        raise ConditionFailed(site.model.entities[ctx.entity].label,
                              {"en": "(new)", "zh-CN": "（新建）"},
                              creation.transitions[0].action, creation.transitions)
    entering = wf.states[chosen.target]
    if entering.submitted or entering.cancelled:
        raise Conflict(f"{chosen.action!r} submits or cancels the record: create it, then "
                       "take the action")
    if chosen.comment_required and not (creation.comment or "").strip():
        raise ValidationError([FieldProblem(
            "comment", f"a reason is required to {label_text(chosen.label) or chosen.action}",
            "required")])
    context = {"action": chosen.action, "from": initial.name, "to": chosen.target,
               "user": actor.name, "comment": creation.comment,
               "inputs": actions.read_inputs(site, chosen, creation.inputs, ctx.records),
               "at": creation.at}
    for step in initial.on_leave:
        values.update(actions.compute(site, wf, step, {**view, **values}, actor, context))
    values.update(actions.evaluate_set(site, wf, chosen.set, {**view, **values}, actor,
                                       context))
    for step in entering.on_enter:
        values.update(actions.compute(site, wf, step, {**view, **values}, actor, context))
    values[wf.state_field] = chosen.target
    creation.chosen, creation.context = chosen, context
    return values


def _passed(wf: Any, doc: dict[str, Any], ctx: HookContext, creation: Creation) -> None:
    """After the insert of a record created through an action: its history row, then the
    ``hook`` and ``notify`` steps and approval tasks, as :meth:`Workflows.act` runs them."""
    engine = ctx.records.site.workflows
    actor = ctx.records.actor
    t = creation.chosen
    assert t is not None
    initial, entering = wf.initial, wf.states[t.target]
    record = {"created_by": actor.name, "version": 1, **doc}
    before = {**record, wf.state_field: initial.name}
    engine._history(wf, before, record, t.action, initial.name, t.target, actor,  # noqa: SLF001
                    creation.behalf, creation.comment, at=creation.at,
                    inputs=creation.context.get("inputs"))
    token = _writing.set((ctx.entity, doc["id"]))  # its hooks may write the new record
    try:
        for step in initial.on_enter:
            if not _computed(step):
                actions.after(engine, wf, step, record, {}, actor, initial,
                              _creation(wf, ctx))
        for step in initial.on_leave:
            if not _computed(step):
                actions.after(engine, wf, step, record, before, actor, initial,
                              creation.context)
        if entering.is_approval:
            engine._enter_step(wf, record, entering)  # noqa: SLF001 - the engine's own step
        for step in entering.on_enter:
            if not _computed(step):
                actions.after(engine, wf, step, record, before, actor, entering,
                              creation.context)
    finally:
        _writing.reset(token)
    actions.emit(ctx.records.site, wf, record, actor, initial.name, t.target, t.action)


def started(doc: dict[str, Any], ctx: HookContext) -> None:
    """After a new record is written in its initial state: open the state's approval
    tasks and run its ``hook`` and ``notify`` steps (or, created through an action, those
    of the action: :func:`_passed`)."""
    wf = _workflow(ctx.records.site, ctx.entity)
    if wf is None or ctx.old is not None:
        return
    creation = creating(ctx.entity)
    if creation is not None and creation.doc is doc:
        _passed(wf, doc, ctx, creation)
        return
    if doc.get(wf.state_field) != wf.initial.name:
        return
    state = wf.initial
    steps = [s for s in state.on_enter if s.kind in ("hook", "notify")]
    if not steps and not state.is_approval:
        return
    engine = ctx.records.site.workflows
    record = {"created_by": ctx.records.actor.name, "version": 1, **doc}
    context = _creation(wf, ctx)
    token = _writing.set((ctx.entity, doc["id"]))  # its hooks may write the new record
    try:
        if state.is_approval:
            engine._enter_step(wf, record, state)  # noqa: SLF001 - the engine's own step
        for step in steps:
            actions.after(engine, wf, step, record, {}, ctx.records.actor, state, context)
    finally:
        _writing.reset(token)


def workflow_lifecycle(site: Any, entity: str) -> frozenset[str]:
    """Which of ``submit`` and ``cancel`` the entity's workflow does itself (it has a
    state that submits or cancels the record), so screens offer its actions instead."""
    wf = _workflow(site, entity)
    return wf.lifecycle() if wf is not None else frozenset()


def guard_lifecycle(doc: dict[str, Any], ctx: HookContext) -> None:
    """``on_submit``/``on_cancel``: when the record's workflow has states that submit (or
    cancel) it, only its actions may; a plain ``submit``/``cancel`` (the API's
    ``/submit``, the detail page's button, ``records.submit``) would skip the approval."""
    wf = _workflow(ctx.records.site, ctx.entity)
    if wf is None or ctx.old is None or writing() == (ctx.entity, ctx.old.get("id")):
        return
    plain, flag = (("submit", "submitted") if ctx.event == "on_submit"
                   else ("cancel", "cancelled"))
    if plain not in wf.lifecycle():
        return
    targets = {name for name, state in wf.states.items() if getattr(state, flag)}
    # name what the record can do from where it is: the actions that reach such a state
    # at once, else any, else (from nowhere) every action that reaches one
    leaving = wf.leaving(ctx.old.get(wf.state_field) or "")
    actions = (sorted({t.action for t in leaving if t.target in targets})
               or sorted({t.action for t in leaving})
               or sorted({t.action for t in wf.transitions if t.target in targets}))
    entity = ctx.records.model.entities[ctx.entity]
    title = f"{label_text(entity.label) or entity.name} {ctx.old.get('name') or ''}".strip()
    verb = "submits" if flag == "submitted" else "cancels"
    raise Conflict(f"{title}: its workflow {verb} it; take the action "
                   + " or ".join(repr(a) for a in actions) + " instead")


def locked_fields(site: Any, entity: str, record: Mapping[str, Any]) -> frozenset[str]:
    """The fields of ``record`` that ordinary updates may not change in its workflow
    state (what :func:`guard_fields` refuses): for forms to show them read-only."""
    wf = _workflow(site, entity)
    state = _locking_state(wf, record)
    if state is None:
        return frozenset()
    return frozenset(name for name in site.model.entities[entity].fields
                     if name != wf.state_field and name not in state.editable)


def lock_of(site: Any, entity: str, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """How ``record``'s workflow state locks it, for explaining a write: the state, its
    label, the fields ordinary updates may not change, whether that is every field a
    user could write, and the actions possible there; None when the state locks nothing."""
    locked = locked_fields(site, entity, record)
    if not locked:
        return None
    wf = _workflow(site, entity)
    state = wf.states[record[wf.state_field]]
    fields = site.model.entities[entity].fields
    writable = [n for n, f in fields.items()
                if n != wf.state_field and not f.formula and not f.read_only]
    return {"state": state.name, "state_label": label_text(state.label) or state.name,
            "locked": sorted(locked), "all_locked": all(n in locked for n in writable),
            "actions": sorted({t.action for t in wf.leaving(state.name)})}


def with_workflow_lock(site: Any, answer: Explanation, entity: str, action: str,
                       ident: int | None) -> Explanation:
    """``answer`` (permissions' explain) with what the record's workflow state adds to a
    write they allow: ``workflow_lock`` and a step naming the locked fields; a state that
    locks every field a user may write makes it a refusal, as a PATCH would get
    (permissions alone do not answer "may ann write #4")."""
    if action != "write" or ident is None or not answer.allowed:
        return answer
    try:
        record = site.records().get(entity, ident)
    except NotFound:
        return answer
    lock = lock_of(site, entity, record)
    if lock is None:
        return answer
    steps = [*answer.steps, f"the workflow state {lock['state_label']} locks: "
             + ", ".join(lock["locked"])]
    if not lock["all_locked"]:
        return replace(answer, steps=steps, workflow_lock=lock)
    actions = ", ".join(lock["actions"]) or "none"
    return replace(answer, allowed=False, source="workflow", steps=steps, workflow_lock=lock,
                   rule=f"write #{ident}: the record is {lock['state_label']}, where its "
                        f"workflow locks every field; only its actions ({actions}) change it")


def _locking_state(wf: Any, record: Mapping[str, Any]) -> Any:
    """The workflow state ``record`` is in, if that state limits what may change
    (``editable``); else None."""
    if wf is None:
        return None
    state = wf.states.get(record.get(wf.state_field) or "")
    return state if state is not None and state.editable is not None else None


def guard_fields(doc: dict[str, Any], ctx: HookContext) -> None:
    wf = _workflow(ctx.records.site, ctx.entity)
    if wf is None or ctx.old is None or writing() == (ctx.entity, ctx.old.get("id")):
        return
    state = _locking_state(wf, ctx.old)
    if state is None:
        return
    entity = ctx.records.model.entities[ctx.entity]
    model = ctx.records.model
    locked = f"cannot be changed while the record is {label_text(state.label) or state.name}"
    problems = []
    for name, f in entity.fields.items():
        if name == wf.state_field or name in state.editable or f.formula:
            continue
        if f.is_table:
            problems += _line_problems(model, f, doc.get(name), ctx.old.get(name), locked)
        elif not _same(doc.get(name), ctx.old.get(name)):
            problems.append(FieldProblem(name, locked, "workflow_locked"))
    if problems:
        raise ValidationError(problems, entity=ctx.entity)


def _line_problems(model: Any, f: Any, lines: Any, stored: Any, locked: str
                   ) -> list[FieldProblem]:
    """A locked table's changes, each at its path: ``lines[1].qty`` for a changed field of
    a line, ``lines`` for lines added, removed or reordered."""
    lines = [line for line in lines or [] if isinstance(line, Mapping)]
    stored = [line for line in stored or [] if isinstance(line, Mapping)]
    if [line.get("id") for line in lines] != [line.get("id") for line in stored]:
        return [FieldProblem(f.name, f"{locked}: no line may be added, removed or moved",
                             "workflow_locked")]
    child = model.entities[f.target or ""]
    problems = []
    for i, (line, old) in enumerate(zip(lines, stored, strict=True)):
        for name, c in child.fields.items():
            if c.formula:
                continue
            changed = (_plain(model, c, line.get(name)) != _plain(model, c, old.get(name))
                       if c.is_table else not _same(line.get(name), old.get(name)))
            if changed:
                problems.append(FieldProblem(f"{f.name}[{i}].{name}", locked,
                                             "workflow_locked"))
    return problems


def _same(new: Any, old: Any) -> bool:
    """Equal, an empty string counting as no value (a form sends "" for an empty box)."""
    return (None if new == "" else new) == (None if old == "" else old)


def _plain(model: Any, f: Any, value: Any) -> Any:
    if f.is_table:
        child = model.entities[f.target or ""]
        return [{k: _plain(model, child.fields[k], line.get(k)) for k in child.fields
                 if not child.fields[k].formula}
                for line in value or [] if isinstance(line, Mapping)]
    return value
