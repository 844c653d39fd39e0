"""Delegations over the web: "while I am away from D1 to D2, X acts for me".

A user sets up, sees and ends their own delegations; an administrator anyone's (the rule
is :func:`yiti.workflow.approvers.may_manage`, checked in the engine's functions and here
before them). The stand-in sees what waits for the delegator in "My approvals" for those
days and acts on their behalf (the history says so).

REST (problem+json errors):

- ``GET /api/v1/approvals/delegations``: the caller's delegations, given and received
  (an administrator: ``?user=<name>`` for someone's, ``?all=1`` for everyone's);
- ``POST /api/v1/approvals/delegations`` ``{"to_user", "starts", "ends", "reason"}``
  (an administrator may add ``from_user``): 201 with the delegation; 422 naming each
  field; 403 for someone else's;
- ``DELETE /api/v1/approvals/delegations/<id>``: ends it today (204); 403 when it is not
  the caller's to end, 404 when there is none.

Page: ``/workflow/delegations`` (a form and the list, each with an "End" button; the forms
carry the CSRF token). Registered by :func:`yiti.web.workflow_views.init_app`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from yiti.errors import FieldProblem, Forbidden, ValidationError, YitiError
from yiti.permissions.policy import Actor
from yiti.web.api.inputs import check_input
from yiti.web.api.problems import from_error, from_http
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site
from yiti.web.auth import current_actor
from yiti.web.auth.views import THEME_TEMPLATES
from yiti.web.ui.i18n import gettext as _
from yiti.web.ui.i18n import say
from yiti.web.workflow_views import signed_in
from yiti.workflow import approvers as who
from yiti.workflow import install

#: The fields a delegation is given with, in the form's order.
FIELDS = ("from_user", "to_user", "starts", "ends", "reason")

api = Blueprint("delegation_api", __name__, url_prefix="/api/v1/approvals/delegations")
api.before_request(check_input)  # bad input refused by name, not a 500
pages = Blueprint("delegations", __name__, url_prefix="/workflow/delegations",
                  template_folder=str(THEME_TEMPLATES))


def _now() -> dt.datetime:
    return install(current_site()).now()


def create(actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """Add a delegation from the request's ``body`` (API or form): the stored row.

    Every problem is reported at once, each naming its field."""
    from_user = str(body.get("from_user") or "").strip() or actor.name
    if not who.may_manage(actor, from_user):
        raise Forbidden(f"only an administrator may delegate for someone else "
                        f"({from_user!r}); leave from_user out to delegate your own",
                        field="from_user")
    problems = []
    to_user = body.get("to_user")
    if to_user is not None and not isinstance(to_user, str):
        problems.append(FieldProblem("to_user", "must be a user's name", "type"))
        to_user = None
    dates: dict[str, dt.date | None] = {}
    for key in ("starts", "ends"):
        value, dates[key] = body.get(key), None
        if value in (None, ""):
            problems.append(FieldProblem(key, "is required: a date like 2026-05-01",
                                         "required"))
            continue
        try:
            dates[key] = dt.date.fromisoformat(str(value))
        except ValueError:
            problems.append(FieldProblem(key, f"{value!r} is not a date like 2026-05-01",
                                         "type"))
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(FieldProblem("reason", "must be text", "type"))
    unknown = sorted(set(body) - set(FIELDS))
    problems += [FieldProblem(k, f"a delegation has no {k!r}: it takes "
                              f"{', '.join(FIELDS)}", "unknown") for k in unknown]
    site = current_site()
    to_user = (to_user or "").strip()
    problems += who.delegation_problems(site, from_user, to_user, dates["starts"],
                                        dates["ends"], now=_now())
    if problems:
        raise ValidationError(problems)
    assert dates["starts"] is not None and dates["ends"] is not None
    ident = who.delegate(site, from_user, to_user, dates["starts"], dates["ends"],
                         reason=(reason or "").strip() or None, by=actor.name, now=_now())
    return who.delegation(site, ident, now=_now()) or {}


def listing(actor: Actor, user: str | None = None, everyone: bool = False
            ) -> list[dict[str, Any]]:
    return who.visible_delegations(current_site(), actor, user, everyone, now=_now())


# -- the REST API ------------------------------------------------------------------------

@api.errorhandler(YitiError)
def api_error(error: YitiError) -> Response:
    return from_error(error)


@api.errorhandler(HTTPException)
def api_http_error(error: HTTPException) -> Response:
    return from_http(error)


@api.get("")
def api_list() -> Response:
    actor = current_actor()
    rows = listing(actor, request.args.get("user"), request.args.get("all") in ("1", "true"))
    return json_response({"data": rows, "count": len(rows)})


@api.post("")
def api_create() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError([FieldProblem("body", "must be a JSON object", "type")])
    return json_response(create(current_actor(), body), 201)


@api.delete("/<int:ident>")
def api_end(ident: int) -> Response:
    who.end_delegation(current_site(), current_actor(), ident, now=_now())
    return Response(status=204)


# -- the page ----------------------------------------------------------------------------

pages.before_request(signed_in)  # the sign-in page first, then back here


@pages.errorhandler(YitiError)
def page_error(error: YitiError) -> Any:
    if request.method == "POST":
        flash(say(error.message), "danger")
        return redirect(url_for("delegations.page"))
    return Response(say(error.message), status=error.status, mimetype="text/plain")


def _render(values: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    actor = current_actor()
    admin = who.is_administrator(actor)
    everyone = admin and request.args.get("all") in ("1", "true")
    rows = listing(actor, None, everyone)
    users = _users()
    return render_template("workflow/delegations.html", rows=rows, values=values,
                           errors=errors, admin=admin, everyone=everyone, users=users,
                           me=actor.name, may_end=lambda row: who.may_manage(
                               actor, row["from_user"]) and row["status"] != "ended",
                           today=who.today(current_site(), _now())), status


def _users() -> list[str]:
    """Enabled users' names, for the stand-in's suggestions."""
    site = current_site()
    t = site.tables["yiti_user"]
    from yiti.records.transaction import reading

    with reading(site.engine) as conn:
        return list(conn.execute(select(t.c.name).where(t.c.enabled.is_(True))
                                 .order_by(t.c.name).limit(500)).scalars())


@pages.get("")
def page() -> Any:
    return _render({}, {})


@pages.post("")
def add() -> Any:
    from yiti.web.admin_ui.formdata import errors_by_field

    values = {k: request.form.get(k, "").strip() for k in FIELDS}
    if not who.is_administrator(current_actor()):
        values.pop("from_user")
    try:
        row = create(current_actor(), {k: v for k, v in values.items() if v != ""})
    except ValidationError as error:
        return _render(values, errors_by_field(error), 422)
    flash(_("%(to)s stands in for %(user)s from %(starts)s to %(ends)s.", to=row["to_user"],
            user=row["from_user"], starts=row["starts"].isoformat(),
            ends=row["ends"].isoformat()), "success")
    return redirect(url_for("delegations.page"))


@pages.post("/<int:ident>/end")
def end(ident: int) -> Any:
    ended = who.end_delegation(current_site(), current_actor(), ident, now=_now())
    flash(_("The delegation was removed.") if ended is None else
          _("The delegation ended: %(to)s no longer stands in for %(user)s.",
            to=ended["to_user"], user=ended["from_user"]), "success")
    return redirect(url_for("delegations.page"))


def init_app(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(pages)
