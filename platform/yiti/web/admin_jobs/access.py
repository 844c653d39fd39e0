"""Who is asking: the sign-in layer's actor; administrators for the jobs pages."""

from __future__ import annotations

from flask import abort, current_app

from yiti.permissions.policy import Actor

ADMIN_ROLES = frozenset({"Administrator"})


def current_actor() -> Actor | None:
    """The signed-in actor; without a sign-in layer, ``app.config["YITI_JOBS_ACTOR"]``."""
    if getattr(current_app, "login_manager", None) is None:
        return current_app.config.get("YITI_JOBS_ACTOR")
    from yiti.web.auth import current_actor as signed_in

    return signed_in(required=False)


def current_name() -> str | None:
    actor = current_actor()
    return actor.name if actor is not None else None


def require_user() -> Actor:
    actor = current_actor()
    if actor is None:
        manager = getattr(current_app, "login_manager", None)
        if manager is not None:
            abort(manager.unauthorized())  # the sign-in page (or 401 for /api)
        abort(401)
    return actor


def require_admin() -> Actor:
    actor = require_user()
    if not (actor.system or actor.roles & ADMIN_ROLES):
        abort(403)
    return actor


def layout() -> str:
    """The template our pages extend: the theme's base.html when the UI layer is there."""
    return "base.html" if "ui_assets" in current_app.blueprints else "jobs/_plain.html"
