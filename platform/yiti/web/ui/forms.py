"""Form screens: ``/app/<entity>/new`` and ``/app/<entity>/<id>/edit``.

Each page opens only when its button would be offered (:mod:`yiti.web.ui.offers`): the
new form for a role that may create, the edit form for one that may write the record,
and only while its state leaves something to change (else 409, naming the state).

A refused save shows the form again with what the user typed and each message on its
input; a stale save (someone else saved first) says so and keeps the input too. Fields
with conditions (``visible_if`` on the form, ``required_if`` on the entity) are hidden or
marked required on the server, when the form renders and, as the user changes an input,
through ``POST /app/<entity>/form-state``.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import flash, jsonify, redirect, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from yiti.definitions.model import Entity, label_text
from yiti.errors import Conflict, FieldProblem, ValidationError
from yiti.records import formulas
from yiti.records.validate import clean
from yiti.web.ui import formdata, offers
from yiti.web.ui.blueprint import bp, render
from yiti.web.ui.context import entity_or_404, link_titles, record_heading, records, site
from yiti.web.ui.i18n import current_language, gettext, say
from yiti.web.ui.screens import (
    FieldStates,
    conditional_fields,
    field_states,
    form_layout,
    layout_for,
)
from yiti.workflow import workflows_of
from yiti.workflow.guard import locked_fields


def _link_labels(entity: Entity, state: dict[str, Any], form: MultiDict | None
                 ) -> dict[str, str]:
    """Input name → the linked record's title, for the text box of each link input."""
    model = site().model
    recs = records()
    out: dict[str, str] = {}

    def collect(e: Entity, prefix: str, values: dict[str, Any]) -> None:
        for f in e.fields.values():
            if f.type != "link" or not f.target:
                continue
            name = f"{prefix}{f.name}"
            if form is not None and form.get(f"{name}.search"):
                out[name] = form[f"{name}.search"]
            elif values.get(f.name):
                wanted.setdefault(f.target, {})[name] = values[f.name]

    wanted: dict[str, dict[str, Any]] = {}
    collect(entity, "", state)
    for f in entity.table_fields:
        child = model.entities[f.target or ""]
        for i, line in enumerate(state.get(f.name) or []):
            collect(child, f"{f.name}[{i}].", line)
    for target, names in wanted.items():
        titles = link_titles(recs, model.entities[target], names.values())
        for name, ident in names.items():
            key = int(ident) if str(ident).isdigit() else ident
            out[name] = titles.get(key, f"#{ident}")
    return out


def show_form(entity: Entity, state: dict[str, Any], *, record: dict[str, Any] | None,
              problems: list[FieldProblem] | None = None, conflict: str | None = None,
              form: MultiDict | None = None, status: int = 200) -> tuple[str, int]:
    model = site().model
    problems = problems or []
    errors = formdata.errors_by_input(problems)
    names = _input_names(entity, state)
    stray = [p for p in problems if p.field not in names]
    blanks = {f.name: formdata.blank_line(model.entities[f.target or ""])
              for f in entity.table_fields}
    conditional = conditional_fields(model, entity)
    states = _states(entity, state, record) if conditional else FieldStates((), ())
    state_url = url_for("ui.form_state", entity=entity.name,
                        record=record["id"] if record else None) if conditional else ""
    return render("ui/form.html", status, entity=entity, record=record, state=state,
                  tabs=layout_for(form_layout(model, entity), model, entity, records()),
                  errors=errors, problems=problems,
                  stray=stray, conflict=conflict, blanks=blanks,
                  link_labels=_link_labels(entity, state, form),
                  child_of=lambda f: model.entities[f.target or ""],
                  conditional=conditional, state_url=state_url,
                  hidden=set(states.hidden) - set(errors), required_now=set(states.required),
                  locked=locked_fields(site(), entity.name, record) if record else frozenset())


def _states(entity: Entity, state: dict[str, Any], record: dict[str, Any] | None
            ) -> FieldStates:
    """Hidden and conditionally required fields for the inputs in ``state`` (text).

    The inputs are parsed by type (one that does not parse stays text, so a condition over
    it is not met); read-only and computed fields come from the stored record, or a new
    record's defaults, and formulas are computed, so conditions see the record the save
    would see.
    """
    model = site().model
    doc = copy.deepcopy({k: v for k, v in state.items() if k in entity.fields})
    clean(model, entity, doc, timezone=site().settings.timezone)
    base = record if record is not None else records().defaults(entity.name)
    for f in entity.fields.values():
        if not f.is_table and not formdata.editable(f):
            doc[f.name] = base.get(f.name)
    for key in ("id", "name", "docstatus"):
        if key in base:
            doc[key] = base[key]
    try:
        formulas.derive(model, entity, doc)
    except ValidationError:
        pass  # a formula that can't be computed yet: conditions see it blank
    return field_states(model, entity, doc)


@bp.post("/<entity>/form-state")
def form_state(entity: str) -> Response:
    """``{hidden: [...], required: [...]}`` for the inputs posted: which fields the form
    hides and which are required now. ``?record=<id>`` when editing a stored record."""
    e = entity_or_404(entity)
    ident = request.args.get("record", "")
    record = records().get(e.name, int(ident)) if ident.isdigit() else None
    states = _states(e, formdata.state_from_form(site().model, e, request.form), record)
    return jsonify(hidden=list(states.hidden), required=list(states.required))


def _input_names(entity: Entity, state: dict[str, Any]) -> set[str]:
    model = site().model
    names = set(entity.fields)
    for f in entity.table_fields:
        child = model.entities[f.target or ""]
        for i in range(len(state.get(f.name) or [])):
            names |= {f"{f.name}[{i}].{c}" for c in child.fields}
    return names


def _initial(entity: Entity) -> dict[str, Any]:
    """A new record's inputs: field defaults, one blank line per required table."""
    model = site().model
    tz = site().settings.timezone
    doc = records().defaults(entity.name)
    state = formdata.state_from_record(model, entity, doc, tz)
    for f in entity.table_fields:
        state[f.name] = [formdata.blank_line(model.entities[f.target or ""])]
    for key, value in request.args.items():  # ?contact=12 pre-fills a field
        if key in entity.fields and not entity.fields[key].is_table:
            state[key] = value
    return state


@bp.get("/<entity>/new")
def new(entity: str) -> tuple[str, int]:
    e = entity_or_404(entity)
    offers.require_offer(records(), e, "new")
    return show_form(e, _initial(e), record=None)


@bp.post("/<entity>/new")
def create(entity: str) -> Any:
    e = entity_or_404(entity)
    recs = records()
    values, problems = formdata.values_from(site().model, e, request.form, request.files, recs)
    if not problems:
        try:
            saved = recs.create(e.name, values)
        except ValidationError as error:
            problems = error.problems
        else:
            flash(gettext("%(what)s saved.", what=record_heading(recs, e, saved)), "success")
            return redirect(url_for("ui.detail", entity=e.name, ident=saved["id"]))
    state = formdata.state_from_form(site().model, e, request.form)
    return show_form(e, state, record=None, problems=problems, form=request.form, status=422)


def _editable(e: Entity, ident: int) -> dict[str, Any]:
    """The record the edit form opens, refused as its page would not offer *Edit*: 403
    for a role that may not write it (404 if it may not read it), 409 when its state
    leaves nothing to change (a submitted document, a workflow state locking every
    field)."""
    recs = records()
    record = recs.get(e.name, ident)
    offers.require(recs, e, "write", record)
    if not offers.changeable(e, record, locked_fields(site(), e.name, record)):
        raise Conflict(gettext("%(what)s cannot be edited while it is %(state)s.",
                               what=record_heading(recs, e, record),
                               state=_state_text(e, record)))
    return record


def _state_text(e: Entity, record: dict[str, Any]) -> str:
    """The state that keeps ``record`` from being edited, in the user's language: its
    workflow state, else its document status."""
    engine = workflows_of(site())
    wf = engine.by_entity.get(e.name)
    if wf is not None and record.get(wf.state_field):
        return engine.state_label(wf, record[wf.state_field], current_language())
    return gettext(str(record.get("docstatus") or "").capitalize())


@bp.get("/<entity>/<int:ident>/edit")
def edit(entity: str, ident: int) -> tuple[str, int]:
    e = entity_or_404(entity)
    record = _editable(e, ident)
    state = formdata.state_from_record(site().model, e, record, site().settings.timezone)
    state["version"] = str(record["version"])
    return show_form(e, state, record=record)


@bp.post("/<entity>/<int:ident>/edit")
def update(entity: str, ident: int) -> Any:
    e = entity_or_404(entity)
    recs = records()
    record = recs.get(e.name, ident)
    values, problems = formdata.values_from(site().model, e, request.form, request.files, recs)
    conflict = None
    if not problems:
        try:
            saved = recs.update(e.name, ident, values, version=request.form.get("version") or 0)
        except ValidationError as error:
            problems = error.problems
        except Conflict as error:
            conflict = say(error.message)
        else:
            flash(gettext("%(what)s saved.", what=record_heading(recs, e, saved)), "success")
            return redirect(url_for("ui.detail", entity=e.name, ident=ident))
    state = formdata.state_from_form(site().model, e, request.form)
    state["version"] = request.form.get("version", "")
    return show_form(e, state, record=record, problems=problems, conflict=conflict,
                     form=request.form, status=409 if conflict else 422)


def entity_title(e: Entity) -> str:
    return label_text(e.label, current_language())
