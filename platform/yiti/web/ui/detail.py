"""Detail screens: ``/app/<entity>/<id>`` with the audit history, and the actions on one
record (delete; submit, cancel and amend for submittable entities)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from yiti.definitions.model import Entity
from yiti.errors import Conflict, ValidationError, YitiError
from yiti.web.ui.blueprint import bp, render
from yiti.web.ui.context import (
    attachment_ids,
    entity_or_404,
    file_names,
    record_heading,
    records,
    site,
    titles_for,
)
from yiti.web.ui.history import shown_history
from yiti.web.ui.i18n import current_language, gettext, say
from yiti.web.ui.offers import may, record_actions
from yiti.web.ui.screens import form_layout, layout_for
from yiti.workflow.guard import locked_fields, workflow_lifecycle

ACTIONS = ("submit", "cancel", "amend", "delete")


def _titles(entity: Entity, record: dict[str, Any]) -> dict[str, dict[Any, str]]:
    """Link titles of the record and of its lines, by field name (lines: ``table.field``)."""
    recs = records()
    model = site().model
    out = titles_for(recs, entity, entity.fields.values(), [record])
    for f in entity.table_fields:
        child = model.entities[f.target or ""]
        for name, titles in titles_for(recs, child, child.fields.values(),
                                       record.get(f.name) or []).items():
            out[f"{f.name}.{name}"] = titles
    return out


@bp.get("/<entity>/<int:ident>")
def detail(entity: str, ident: int) -> tuple[str, int]:
    e = entity_or_404(entity)
    recs = records()
    record = recs.get(e.name, ident)
    try:
        history = recs.history(e.name, ident)
    except YitiError:
        history = []
    model = site().model
    by_workflow = workflow_lifecycle(site(), e.name)
    history = shown_history(recs, e, record, list(reversed(history)), lang=current_language())
    titles = _titles(e, record)
    return render("ui/detail.html", entity=e, record=record, history=history,
                  tabs=layout_for(form_layout(model, e), model, e, recs),
                  titles=titles, title=record_heading(recs, e, record, titles),
                  files=file_names(attachment_ids(e, record)),
                  child_of=lambda f: model.entities[f.target or ""],
                  field_of=lambda name: e.fields.get(name),
                  offered=record_actions(recs, e, record, by_workflow,
                                         locked_fields(site(), e.name, record)))


@bp.post("/<entity>/<int:ident>/<action>")
def act(entity: str, ident: int, action: str) -> Response:
    e = entity_or_404(entity)
    if action not in ACTIONS or (action != "delete" and not e.submittable):
        return redirect(url_for("ui.detail", entity=e.name, ident=ident))
    recs = records()
    version = request.form.get("version") or None
    try:
        if action == "delete":
            recs.delete(e.name, ident, version=version)
            flash(gettext("Deleted."), "success")
            return redirect(url_for("ui.list_view", entity=e.name))
        if action == "amend":
            new = recs.amend(e.name, ident)
            flash(gettext("%(what)s created as an amendment.",
                          what=record_heading(recs, e, new)), "success")
            # to its edit form, unless that would refuse (a role that may create, not write)
            page = "ui.edit" if may(recs, e, "write", new) else "ui.detail"
            return redirect(url_for(page, entity=e.name, ident=new["id"]))
        done = recs.submit(e.name, ident, version=version) if action == "submit" else (
            recs.cancel(e.name, ident, version=version))
        what = record_heading(recs, e, done)
        flash(gettext("%(what)s submitted.", what=what) if action == "submit"
              else gettext("%(what)s cancelled.", what=what), "success")
    except (Conflict, ValidationError) as error:
        flash(say(error.message), "danger")
    return redirect(url_for("ui.detail", entity=e.name, ident=ident))
