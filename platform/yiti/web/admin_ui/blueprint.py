"""The ``admin`` blueprint (``/admin``): every request is checked for an Administrator."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, url_for
from werkzeug.wrappers import Response

from yiti.errors import Forbidden, NotFound
from yiti.web.admin_ui import access
from yiti.web.auth import ReauthRequired

bp = Blueprint("admin", __name__, url_prefix="/admin")

bp.register_error_handler(Forbidden, access.refused)
bp.register_error_handler(NotFound, access.not_found)
bp.register_error_handler(404, access.not_found)
bp.register_error_handler(ReauthRequired, access.reauth_redirect)


@bp.before_request
def administrators_only() -> None:
    """Checked on the server for every page and every POST of this blueprint."""
    access.require_admin()


@bp.get("/")
def index() -> Response:
    """The first administration page: the users."""
    return redirect(url_for("admin.users"))


@bp.app_context_processor
def admin_context() -> dict[str, Any]:
    """``admin_pages``: the navigation bar shows its link only when this blueprint is there
    (and only to administrators: ``may_administer()``)."""
    return {"admin_pages": True}
