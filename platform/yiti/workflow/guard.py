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

import copy
from collections.abc import Mapping
from typing import Any

from yiti.definitions.model import label_text
from yiti.errors import FieldProblem, ValidationError
from yiti.records.hooks import HookContext
from yiti.workflow import actions
from yiti.workflow.engine import _writing, writing


def _workflow(ctx: HookContext) -> Any:
    engine = getattr(ctx.records.site, "workflows", None)
    return engine.by_entity.get(ctx.entity) if engine is not None else None


def start_state(doc: dict[str, Any], ctx: HookContext) -> None:
    wf = _workflow(ctx)
    if wf is None:
        return
    field = wf.state_field
    if ctx.old is None:
        given = doc.get(field)
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
    steps = [s for s in wf.initial.on_enter
             if s.kind in ("set", "script") or (s.kind == "hook" and s.before_write)]
    if not steps:
        return {}
    from yiti.records import formulas
    from yiti.records.validate import clean

    records = ctx.records
    site = records.site
    entity = records.model.entities[ctx.entity]
    # the formulas see the values as they will be stored: parsed, formula fields derived,
    # and the creator as the requester
    view = copy.deepcopy(dict(doc))
    if clean(records.model, entity, view, timezone=site.settings.timezone):
        return {}  # the create fails on its own checks: they say why
    formulas.derive(records.model, entity, view)
    view.setdefault("created_by", records.actor.name)
    context = _creation(wf, ctx)
    values: dict[str, Any] = {}
    for step in steps:
        values.update(actions.compute(site, wf, step, {**view, **values}, records.actor,
                                      context))
    return values


def started(doc: dict[str, Any], ctx: HookContext) -> None:
    """After a new record is written in its initial state: open the state's approval
    tasks and run its ``hook`` and ``notify`` steps."""
    wf = _workflow(ctx)
    if wf is None or ctx.old is not None or doc.get(wf.state_field) != wf.initial.name:
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


def guard_fields(doc: dict[str, Any], ctx: HookContext) -> None:
    wf = _workflow(ctx)
    if wf is None or ctx.old is None or writing() == (ctx.entity, ctx.old.get("id")):
        return
    state = wf.states.get(ctx.old.get(wf.state_field) or "")
    if state is None or state.editable is None:
        return
    entity = ctx.records.model.entities[ctx.entity]
    problems = []
    for name, f in entity.fields.items():
        if name == wf.state_field or name in state.editable or f.formula:
            continue
        if _plain(ctx.records.model, f, doc.get(name)) != _plain(ctx.records.model, f,
                                                                 ctx.old.get(name)):
            problems.append(FieldProblem(
                name, f"cannot be changed while the record is "
                f"{label_text(state.label) or state.name}", "workflow_locked"))
    if problems:
        raise ValidationError(problems, entity=ctx.entity)


def _plain(model: Any, f: Any, value: Any) -> Any:
    if f.is_table:
        child = model.entities[f.target or ""]
        return [{k: line.get(k) for k in child.fields if not child.fields[k].formula}
                for line in value or [] if isinstance(line, Mapping)]
    return value
