"""/notifications: the signed-in user's notifications, the bell, mark read; and for
administrators, the notification templates (edited per language, in the sandbox)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from yiti.errors import YitiError
from yiti.jobs import mark_read, unread_count
from yiti.jobs import notifications as notes
from yiti.jobs.jsonable import jsonable
from yiti.web.admin_jobs.access import require_admin, require_user
from yiti.web.admin_jobs.jobs import TEMPLATES
from yiti.web.app import current_site

bp = Blueprint("notifications", __name__, url_prefix="/notifications",
               template_folder=TEMPLATES)


@bp.errorhandler(YitiError)
def refused(error: YitiError) -> Any:
    if _wants_json():
        return jsonify(error.to_dict()), error.status
    return Response(error.message, status=error.status, mimetype="text/plain")


def _wants_json() -> bool:
    return (request.is_json or request.accept_mimetypes.best == "application/json"
            or request.path.endswith(".json"))


@bp.get("/")
@bp.get("/list.json")
def index() -> Any:
    user = require_user().name
    site = current_site()
    rows = notes.for_user(site, user, limit=100, unread=request.args.get("unread") == "1")
    if _wants_json():
        return jsonify({"unread": unread_count(site, user), "notifications": jsonable(rows)})
    return render_template("notifications/index.html", notifications=rows)


@bp.get("/bell")
def bell() -> Any:
    """The bell alone (htmx refreshes it)."""
    require_user()
    return render_template("notifications/bell.html")


@bp.get("/count.json")
def count() -> Any:
    return jsonify({"unread": unread_count(current_site(), require_user().name)})


@bp.post("/read")
def read() -> Any:
    """Mark read: the ``id`` values given (form or JSON), or all with none given."""
    user = require_user().name
    data = request.get_json(silent=True) or {}
    ids = data.get("ids") if data else request.form.getlist("id", type=int)
    changed = mark_read(current_site(), user, [int(i) for i in ids] if ids else None)
    if _wants_json():
        return jsonify({"marked": changed, "unread": unread_count(current_site(), user)})
    return redirect(request.form.get("next") or url_for("notifications.index"))


@bp.get("/templates")
def templates() -> Any:
    require_admin()
    site = current_site()
    declared = site.model.extra.get("notifications", {})
    return render_template("notifications/templates.html", templates=sorted(declared))


@bp.route("/templates/<name>/<language>", methods=["GET", "POST"])
def edit_template(name: str, language: str) -> Any:
    actor = require_admin()
    site = current_site()
    if request.method == "POST":
        subject, body = request.form.get("subject", ""), request.form.get("body", "")
        try:
            notes.save_template(site, name, language, subject, body, user=actor.name)
        except YitiError as error:
            flash(error.message, "danger")
            return render_template("notifications/edit.html", name=name, language=language,
                                   subject=subject, body=body), 422
        flash(f"Template {name} ({language}) saved.", "success")
        return redirect(url_for("notifications.edit_template", name=name, language=language))
    subject, body = notes.template_source(site, name, language)
    return render_template("notifications/edit.html", name=name, language=language,
                           subject=subject, body=body)
