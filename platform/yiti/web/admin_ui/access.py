"""Who may use the administration pages, and what a refused or stale request gets.

Every request to the ``admin`` blueprint is checked here on the server, before the view
runs: nobody signed in → the sign-in page; signed in without the role Administrator, or
an API token → 403. Sensitive changes also need a fresh sign-in, asked exactly as the
admin API asks (:func:`yiti.web.auth.require_fresh`); a stale one is sent to
``/auth/reauth`` and back to the page the form was on.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from yiti.errors import Forbidden, NotFound
from yiti.permissions.policy import Actor
from yiti.permissions.role_policy import RolePolicy
from yiti.permissions.rules import ADMINISTRATOR
from yiti.web.app import current_site
from yiti.web.auth import ReauthRequired, current_actor
from yiti.web.ui.blueprint import error_page
from yiti.web.ui.i18n import gettext


def require_admin() -> Actor:
    """The signed-in Administrator making this request; anyone else is refused."""
    actor = current_actor(required=False)
    if actor is None:
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    if actor.scopes is not None:  # an API token: these pages are for people
        raise Forbidden("use /api/v1/_admin with an API token")
    if not (actor.system or ADMINISTRATOR in actor.roles):
        raise Forbidden("only an Administrator may do this")
    return actor


def safe_back(value: str | None, default: str) -> str:
    """A path on this site to come back to after confirming the password."""
    if value and value.startswith("/admin") and "\\" not in value and "//" not in value:
        return value
    return default


def reauth_redirect(error: ReauthRequired) -> Response:
    """Confirm the password first, then come back to the form's page."""
    back = safe_back(request.form.get("back"), url_for("admin.users"))
    flash(gettext("Confirm your password to make this change."), "warning")
    return redirect(url_for("auth.reauth", next=back))


def refused(error: Forbidden) -> tuple[str, int]:
    return error_page(403, gettext("You may not do this."), error.message, english=True)


def not_found(error: NotFound | Any) -> tuple[str, int]:
    return error_page(404, gettext("Not found."), getattr(error, "message", None),
                      english=True)


def policy() -> RolePolicy:
    """The site's role policy (these pages edit nothing else)."""
    found = current_site().policy
    if not isinstance(found, RolePolicy):
        raise NotFound("this site does not use role permissions")
    return found
