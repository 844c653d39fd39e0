"""Workflow over the web: actions on records, "my approvals", delegations, and the partials
the record pages and the navigation include.

REST (problem+json errors, the API's own helpers):

- ``POST /api/v1/<entity>/<id>/actions/<action>``, body ``{"comment", "to", "version"}``
  (all optional; ``If-Match`` works too) and the transition's inputs by name
  (``{"carrier": "sf", "tracking_no": "..."}``): the record as stored afterwards, with its
  ETag;
- ``GET /api/v1/<entity>/<id>/workflow``: state, the actions the caller may take, history;
- ``GET /api/v1/approvals``: the first 100 waiting and ``count``, all of them (the
  navigation's number; alone: ``/api/v1/approvals/count``);
- delegations (``/api/v1/approvals/delegations``, the page ``/workflow/delegations``):
  :mod:`yiti.web.delegation_views`, registered here.

Pages: ``/workflow/inbox``, ``/workflow/<entity>/<id>``, ``POST /workflow/act/...``,
``/workflow/count`` (the navigation badge). Partials: ``workflow/_panel.html`` (state,
action buttons, history: include it on a record's page with ``entity`` and ``record``
in the context) and ``workflow/_nav.html`` (the "My approvals" link with its count).

Register with ``"yiti.web.workflow_views:init_app"`` in :data:`yiti.web.app.BLUEPRINTS`.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from yiti.definitions.model import label_text
from yiti.errors import FieldProblem, ValidationError, YitiError
from yiti.web.api.inputs import check_input, check_page_ident
from yiti.web.api.problems import from_error, from_http, problem
from yiti.web.api.records import (
    PreconditionRequired,
    entity_or_404,
    expected_version,
    record_response,
)
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site
from yiti.web.auth import current_actor
from yiti.web.auth.views import THEME_TEMPLATES
from yiti.web.ui.history import action_label
from yiti.web.ui.i18n import say
from yiti.workflow import Workflows, inbox, install
from yiti.workflow.refusals import ConditionFailed

#: Keys of an action's body that are not the transition's inputs.
REQUEST_KEYS = ("comment", "to", "version")

api = Blueprint("workflow_api", __name__, url_prefix="/api/v1")
api.before_request(check_input)  # bad input refused by name, not a 500
pages = Blueprint("workflow", __name__, url_prefix="/workflow",
                  template_folder=str(THEME_TEMPLATES))


def engine() -> Workflows:
    return install(current_site())


def _lang() -> str:
    try:
        from yiti.web.ui.i18n import current_language

        return current_language()
    except Exception:  # noqa: BLE001 - no UI layer: English
        return "en"


# -- the REST API ------------------------------------------------------------------------

@api.errorhandler(YitiError)
def api_error(error: YitiError) -> Response:
    if isinstance(error, ConditionFailed):
        # the reader's words in `detail`; the formulas, for developers, in `condition`
        return problem(error.status, error.code, None, error.text(_lang()),
                       extra={"condition": error.conditions})
    return from_error(error)


@api.errorhandler(HTTPException)
def api_http_error(error: HTTPException) -> Response:
    return from_http(error)


@api.post("/<entity:entity>/<ident>/actions/<action>")
def act(entity: str, ident: str, action: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    body = request.get_json(silent=True) if request.get_data(cache=True) else {}
    if not isinstance(body, dict):
        raise ValidationError([FieldProblem("body", "must be a JSON object", "type")])
    try:
        version = expected_version(body)
    except PreconditionRequired:
        version = None  # the version read in the transaction still guards the write
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ValidationError([FieldProblem("comment", "must be text", "type")])
    inputs = {k: v for k, v in body.items() if k not in REQUEST_KEYS}
    record = engine().act(actor, ent.name, ident, action, comment=comment, version=version,
                          to=body.get("to"), inputs=inputs)
    return record_response(ent, record, actor)


@api.get("/<entity:entity>/<ident>/workflow")
def record_workflow(entity: str, ident: str) -> Response:
    ent = entity_or_404(entity)
    return json_response(panel(ent.name, current_site().records(current_actor())
                               .get(ent.name, ident)))


@api.get("/approvals")
def approvals() -> Response:
    actor = current_actor()
    items = inbox.items(engine(), actor, lang=_lang())
    return json_response({"data": items, "count": inbox.count(engine(), actor)})


@api.get("/approvals/count")
def approvals_count() -> Response:
    return json_response({"count": inbox.count(engine(), current_actor())})


# -- what the record pages show -------------------------------------------------------------

def panel(entity: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """State, the actions the current user may take, open steps and history of a record;
    None when the entity has no workflow."""
    eng = engine()
    wf = eng.by_entity.get(entity)
    if wf is None:
        return None
    actor = current_actor()
    lang = _lang()
    state = record.get(wf.state_field)
    history = eng.history(actor, entity, record["id"])
    return {
        "workflow": wf.name, "state": state, "state_label": eng.state_label(wf, state, lang),
        "version": record["version"], "id": record["id"], "entity": entity,
        "actions": [{"action": t.action, "label": label_text(t.label, lang) or t.action,
                     "comment": "required" if t.comment_required else "optional",
                     "approves": t.approves, "back": t.target == "@back",
                     "inputs": [{"name": i.name, "label": label_text(i.label, lang) or i.name,
                                 "type": i.type, "required": i.required,
                                 "entity": i.entity,
                                 "options": [{"value": v, "label": label_text(o, lang) or v}
                                             for v, o in i.options]}
                                for i in t.inputs]}
                    for t in eng.available(actor, entity, record)],
        "earlier_steps": [{"state": s, "label": eng.state_label(wf, s, lang)}
                          for s in eng.earlier_steps(wf, record)],
        "waiting_for": [{"assignee": t["assignee"], "role": t["role"],
                         "label": t["slot_label"], "due_at": t["due_at"]}
                        for t in eng.open_tasks(wf, record["id"], state)],
        "history": [{k: v for k, v in h.items() if k != "snapshot"} | {
            "action_label": action_label(wf, h["action"], h["from_state"], lang),
            "from_label": eng.state_label(wf, h["from_state"] or "", lang),
            "to_label": eng.state_label(wf, h["to_state"] or "", lang),
            "inputs_shown": shown,
            "snapshot": h["snapshot"]}
            for h, shown in zip(history, inputs_shown(wf, history, lang), strict=True)],
    }


def inputs_shown(wf: Any, history: list[dict[str, Any]], lang: str
                 ) -> list[list[dict[str, str]]]:
    """For each history row, its inputs as people read them: the input's label and the
    value, a link as its record's title (read as the viewer: one they may not read shows
    its id)."""
    from yiti.web.ui.context import titles_for
    from yiti.workflow.actions import input_field

    declared = {}
    for t in wf.transitions:
        for i in t.inputs:
            declared.setdefault((t.action, i.name), i)
    links = {i.name: input_field(i) for i in declared.values() if i.type == "link"}
    rows = [h.get("inputs") or {} for h in history]
    site = current_site()
    titles = titles_for(site.records(current_actor()), site.model.entities[wf.entity],
                        links.values(), rows) if links else {}
    out = []
    for h, row in zip(history, rows, strict=True):
        shown = []
        for name, value in row.items():
            if value in (None, ""):
                continue
            item = declared.get((h["action"], name))
            label = (label_text(item.label, lang) if item and item.label else "") or name
            if name in links:
                text = titles.get(name, {}).get(value) or f"#{value}"
            elif item is not None and item.options:
                text = next((label_text(o, lang) or v for v, o in item.options if v == value),
                            str(value))
            else:
                text = str(value)
            shown.append({"name": name, "label": label, "value": text})
        out.append(shown)
    return out


# -- pages -----------------------------------------------------------------------------------

@pages.before_request
def signed_in() -> Any:
    """Pages need a signed-in user: the sign-in page first, then back here."""
    if current_actor(required=False) is None:
        from flask import current_app

        manager = getattr(current_app, "login_manager", None)
        if manager is not None:
            return manager.unauthorized()
    return None


pages.before_request(check_page_ident)  # after signed_in: an impossible id is a 404


@pages.errorhandler(YitiError)
def page_error(error: YitiError) -> Any:
    if request.method == "POST":
        flash(error.text(_lang()) if isinstance(error, ConditionFailed) else say(error.message),
              "danger")
        return redirect(_back())
    return Response(say(error.message), status=error.status, mimetype="text/plain")


@pages.get("/inbox")
def inbox_page() -> Any:
    actor = current_actor()
    return render_template("workflow/inbox.html", items=inbox.items(engine(), actor,
                                                                    lang=_lang()),
                           total=inbox.count(engine(), actor))


@pages.get("/count")
def count_partial() -> Any:
    return render_template("workflow/_nav.html")


@pages.get("/<entity>/<ident>")
def record_page(entity: str, ident: str) -> Any:
    from yiti.web.ui.context import record_heading, titles_for

    ent = entity_or_404(entity)
    records = current_site().records(current_actor())
    record = records.get(ent.name, ident)
    # links shown as the linked record's title, as on the record's own page
    titles = titles_for(records, ent, ent.fields.values(), [record])
    return render_template("workflow/record.html", entity=ent, record=record,
                           title=record_heading(records, ent, record, titles), titles=titles)


@pages.post("/act/<entity>/<ident>/<action>")
def act_page(entity: str, ident: str, action: str) -> Any:
    ent = entity_or_404(entity)
    version = request.form.get("version")
    wf = engine().of(ent.name)
    declared = {i.name for t in wf.transitions if t.action == action for i in t.inputs}
    inputs = {k: v for k in declared if (v := request.form.get(k)) not in (None, "")}
    engine().act(current_actor(), ent.name, ident, action,
                 comment=request.form.get("comment") or None,
                 version=int(version) if version and version.isdigit() else None,
                 to=request.form.get("to") or None, inputs=inputs)
    flash(f"{label_text(ent.label, _lang())}: {action_label(wf, action, None, _lang())} ✓",
          "success")
    return redirect(_back())


def _back() -> str:
    target = request.form.get("next") or request.referrer or url_for("workflow.inbox_page")
    return target if target.startswith("/") and not target.startswith("//") else \
        url_for("workflow.inbox_page")


def init_app(app: Flask) -> None:
    from yiti.web import delegation_views

    install(app.extensions["yiti"])
    app.register_blueprint(api)
    app.register_blueprint(pages)
    delegation_views.init_app(app)

    @app.context_processor
    def workflow_context() -> dict[str, Any]:
        def workflow_pending() -> int | None:
            actor = current_actor(required=False)
            return None if actor is None else inbox.count(engine(), actor)

        def workflow_panel(entity: str, record: dict[str, Any]) -> dict[str, Any] | None:
            if current_actor(required=False) is None or not record:
                return None
            return panel(entity, record)

        return {"workflow_pending": workflow_pending, "workflow_panel": workflow_panel}
