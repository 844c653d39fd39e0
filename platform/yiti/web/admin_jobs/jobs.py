"""/jobs: the jobs page (queued, running, failed, done) with retry and cancel; schedules;
webhooks and their deliveries. Every page has a JSON twin for htmx and scripts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from yiti.config import PROJECT_ROOT
from yiti.errors import YitiError
from yiti.jobs import jobs_of, schedules
from yiti.jobs import webhooks as hooks
from yiti.jobs.jsonable import jsonable
from yiti.jobs.tables import STATES
from yiti.web.admin_jobs.access import require_admin
from yiti.web.app import current_site

TEMPLATES = str(PROJECT_ROOT / "themes" / "default" / "templates")
bp = Blueprint("jobs", __name__, url_prefix="/jobs", template_folder=TEMPLATES)


@bp.before_request
def admins_only() -> None:
    require_admin()


@bp.errorhandler(YitiError)
def refused(error: YitiError) -> Any:
    """An engine error as JSON, or as a short page (never a traceback)."""
    if _wants_json():
        return jsonify(error.to_dict()), error.status
    return Response(error.message, status=error.status, mimetype="text/plain")


def _wants_json() -> bool:
    return (request.is_json or request.accept_mimetypes.best == "application/json"
            or request.path.endswith(".json"))


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    """A job with its error's first line and its progress in percent. Its times stay
    datetimes, for the page's ``when``; JSON sends them through :func:`jsonable`."""
    out = dict(job)
    out["error_summary"] = (job["error"] or "").split("\n", 1)[0] or None
    total = job["progress_total"]
    out["percent"] = int(100 * (job["progress_done"] or 0) / total) if total else None
    return out


@bp.get("/")
@bp.get("/jobs.json")
def index() -> Any:
    jobs = jobs_of(current_site())
    state = request.args.get("state") or None
    if state not in (None, *STATES):
        state = None
    rows = [_job_view(j) for j in jobs.list(state=state, limit=100,
                                              before=request.args.get("before", type=int))]
    counts = jobs.counts()
    if _wants_json():
        return jsonify({"counts": counts, "jobs": jsonable(rows)})
    template = "jobs/_table.html" if request.headers.get("HX-Request") else "jobs/index.html"
    return render_template(template, jobs=rows, counts=counts, state=state, states=STATES)


@bp.get("/<int:job_id>")
@bp.get("/<int:job_id>.json")
def show(job_id: int) -> Any:
    job = _job_view(jobs_of(current_site()).get(job_id))
    if _wants_json():
        return jsonify(jsonable(job))
    return render_template("jobs/show.html", job=job)


@bp.post("/<int:job_id>/retry")
def retry(job_id: int) -> Any:
    return _act(lambda: jobs_of(current_site()).retry(job_id), f"Job {job_id} queued again.",
                url_for("jobs.show", job_id=job_id))


@bp.post("/<int:job_id>/cancel")
def cancel(job_id: int) -> Any:
    return _act(lambda: jobs_of(current_site()).cancel(job_id), f"Job {job_id} cancelled.",
                url_for("jobs.show", job_id=job_id))


def _act(action: Any, message: str, back: str) -> Any:
    try:
        result = action()
    except YitiError as error:
        if _wants_json():
            return jsonify(error.to_dict()), error.status
        flash(error.message, "danger")
        return redirect(back)
    if _wants_json():
        return jsonify({"ok": True, "message": message, "result": jsonable(result)})
    flash(message, "success")
    return redirect(request.form.get("next") or back)


# -- schedules ------------------------------------------------------------------------

@bp.get("/schedules")
@bp.get("/schedules.json")
def schedule_list() -> Any:
    jobs = jobs_of(current_site())
    rows = schedules.overview(jobs)
    problems = schedules.check(jobs)
    if _wants_json():
        return jsonify({"schedules": jsonable(rows), "problems": problems})
    return render_template("jobs/schedules.html", schedules=rows, problems=problems)


@bp.post("/schedules/<name>/<any(enable, disable, reset, run):action>")
def schedule_action(name: str, action: str) -> Any:
    jobs = jobs_of(current_site())
    back = url_for("jobs.schedule_list")
    actor = require_admin()
    if action == "run":
        return _act(lambda: schedules.run_now(jobs, name, user=actor.name),
                    f"Schedule {name} queued to run now.", back)
    enabled = {"enable": True, "disable": False, "reset": None}[action]
    return _act(lambda: schedules.set_enabled(jobs, name, enabled),
                f"Schedule {name} {action}d.", back)


# -- webhooks -------------------------------------------------------------------------

@bp.get("/webhooks")
@bp.get("/webhooks.json")
def webhook_list() -> Any:
    site = current_site()
    declared = hooks.declared(site)
    overrides = hooks._overrides(site)
    rows = []
    for name, body in declared.items():
        enabled = overrides.get(name)
        rows.append({"name": name, "entity": body.get("entity"), "url": body.get("url"),
                     "events": list(body.get("events") or hooks.EVENTS),
                     "condition": body.get("condition"),
                     "enabled": body.get("enabled", True) if enabled is None else enabled,
                     "secret_env": body.get("secret_env")})
    deliveries = hooks.deliveries(site, webhook=request.args.get("webhook"), limit=100)
    if _wants_json():
        return jsonify({"webhooks": rows, "deliveries": jsonable(deliveries)})
    return render_template("jobs/webhooks.html", webhooks=rows, deliveries=deliveries)


@bp.get("/webhooks/<name>/secret")
def webhook_secret(name: str) -> Response:
    """The signing secret (administrators configure the receiver with it)."""
    secret = hooks.secret_for(current_site(), name)
    return jsonify({"webhook": name, "secret": secret})


@bp.post("/webhooks/<name>/<any(enable, disable, reset):action>")
def webhook_action(name: str, action: str) -> Any:
    enabled = {"enable": True, "disable": False, "reset": None}[action]
    return _act(lambda: hooks.set_enabled(current_site(), name, enabled),
                f"Webhook {name} {action}d.", url_for("jobs.webhook_list"))
