"""Record hooks that keep a workflow's state field and locked fields out of ordinary edits.

``start_state`` (``before_validate``): a new record starts in the initial state; an
ordinary update may not change the state field (only an action may). ``guard_fields``
(``validate``, once values are parsed): in a state with ``editable``, ordinary updates may
change only those fields. Both refuse with an error naming each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yiti.definitions.model import label_text
from yiti.errors import FieldProblem, ValidationError
from yiti.records.hooks import HookContext
from yiti.workflow.engine import writing


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
        return
    if writing() == (ctx.entity, ctx.old.get("id")):
        return
    if doc.get(field) != ctx.old.get(field):
        possible = ", ".join(t.action for t in wf.leaving(ctx.old.get(field) or "")) or "none"
        raise ValidationError([FieldProblem(
            field, f"is changed only by the {wf.name} workflow's actions "
            f"(from here: {possible})", "workflow_state")], entity=ctx.entity)


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
