"""The generated screens: lists, forms and detail pages for every entity, under ``/app``.

Register with ``init_app(app)`` (listed in :data:`yiti.web.app.BLUEPRINTS`). It sets up
the theme search path, the language switch and Babel translations, serves the front-end
packages from ``node_modules``, and registers the ``ui`` blueprint.
"""

from __future__ import annotations

import secrets

from flask import Flask, g, make_response, redirect, request, session, url_for
from werkzeug.wrappers import Response

# Importing saved_views registers its table before any Site builds its metadata.
from yiti.web.ui import saved_views, themes
from yiti.web.ui.blueprint import bp, render
from yiti.web.ui.context import current_actor
from yiti.web.ui.i18n import COOKIE, LANGUAGES, gettext, ngettext, say

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    from yiti.web.ui import detail, exports, forms, import_views, lists  # noqa: F401 - routes

    themes.install(app)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    app.jinja_env.autoescape = True
    app.jinja_env.filters["say"] = say  # a problem's message in the reader's language
    # Sign-in and CSRF come from the auth layer; until it is registered, forms still
    # carry a real token and scripts a nonce, so the templates work either way.
    app.jinja_env.globals.setdefault("csrf_token", _csrf_token)
    app.jinja_env.globals.setdefault("csp_nonce", _csp_nonce)
    app.register_blueprint(themes.bp)
    app.register_blueprint(bp)
    saved_views.ensure_table(app.extensions["yiti"])


def _csrf_token() -> str:
    from flask_wtf.csrf import generate_csrf

    return generate_csrf()


def _csp_nonce() -> str:
    if "yiti_nonce" not in g:
        g.yiti_nonce = secrets.token_urlsafe(16)
    return g.yiti_nonce


@bp.get("/")
def index() -> tuple[str, int]:
    """The modules and the entities the user may read: where staff start."""
    current_actor()  # a visitor signs in first
    return render("ui/index.html")


@bp.post("/language")
def language() -> Response:
    """Switch the language: kept in the session and, for the next visit, a cookie."""
    lang = request.form.get("lang", "")
    back = request.form.get("next") or url_for("ui.index")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = url_for("ui.index")
    response = make_response(redirect(back))
    if lang in LANGUAGES:
        session["lang"] = lang
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                            secure=request.is_secure, httponly=True)
    return response
