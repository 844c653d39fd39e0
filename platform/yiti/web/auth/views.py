"""Sign in, sign out, change the password, confirm the password (a fresh sign-in)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from yiti.config import PROJECT_ROOT
from yiti.errors import ValidationError
from yiti.permissions import users
from yiti.web.app import current_site
from yiti.web.auth.identity import SignedInUser, mark_fresh
from yiti.web.auth.sessions import sessions_unavailable, unavailable_response

THEME_TEMPLATES = Path(PROJECT_ROOT) / "themes" / "default" / "templates"

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder=str(THEME_TEMPLATES))


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://...``."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _address() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if sessions_unavailable():  # a sign-in could not be kept: say so, not a form
            return unavailable_response()
        return render_template("auth/login.html", next=next_url, error=None, name="")
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    throttle = current_app.extensions["yiti_throttle"]
    wait = throttle.retry_after(_address(), name)
    if wait:
        body = render_template("auth/login.html", next=next_url, name=name,
                               error=f"Too many failed sign-ins. Try again in {wait} s.")
        return body, 429, {"Retry-After": str(wait)}
    user = users.authenticate(current_site(), name, password) if name and password else None
    if user is None:
        throttle.failed(_address(), name)
        body = render_template("auth/login.html", next=next_url, name=name,
                               error="Unknown user name or wrong password.")
        return body, 401
    throttle.succeeded(_address(), name)
    _new_session()
    login_user(SignedInUser(user), remember=False)
    mark_fresh()
    return redirect(next_url)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    if request.method == "GET":
        return render_template("auth/logout.html")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    if request.method == "GET":
        return render_template("auth/password.html", error=None)
    site = current_site()
    name = current_user.name
    if users.authenticate(site, name, request.form.get("current") or "") is None:
        return render_template("auth/password.html",
                               error="The current password is wrong."), 401
    new = request.form.get("new") or ""
    if new != (request.form.get("confirm") or ""):
        return render_template("auth/password.html",
                               error="The two new passwords differ."), 422
    try:
        users.set_password(site, name, new)
    except ValidationError as error:
        return render_template("auth/password.html", error=error.message), 422
    logout_user()
    session.clear()
    flash("Your password was changed and every session ended; sign in again.")
    return redirect(url_for("auth.login"))


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
def reauth() -> Any:
    """Confirm the password to make sensitive changes for the next few minutes."""
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/reauth.html", next=next_url, error=None)
    throttle = current_app.extensions["yiti_throttle"]
    wait = throttle.retry_after(_address(), current_user.name)
    if wait:
        return render_template("auth/reauth.html", next=next_url,
                               error=f"Too many tries. Wait {wait} s."), 429
    if users.authenticate(current_site(), current_user.name,
                          request.form.get("password") or "") is None:
        throttle.failed(_address(), current_user.name)
        return render_template("auth/reauth.html", next=next_url,
                               error="Wrong password."), 401
    mark_fresh()
    if request.accept_mimetypes.best == "application/json":
        return {"fresh": True}
    return redirect(next_url)


def _new_session() -> None:
    """A new session id at sign-in, so an id planted before it is worth nothing."""
    interface = current_app.session_interface
    regenerate = getattr(interface, "regenerate", None)
    if regenerate is not None and session:
        regenerate(session)
    keep = {k: session[k] for k in ("_flashes",) if k in session}
    session.clear()
    session.update(keep)


def redirect_to_login() -> Response:
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
