"""Sign-in and web security: sessions, CSRF, login throttling, security headers.

``init_app(app)`` (listed in :data:`yiti.web.app.BLUEPRINTS`) installs:

- server-side sessions (:mod:`.sessions`) and Flask-Login with strong session protection;
- CSRF protection on every POST/PUT/PATCH/DELETE (Flask-WTF), except requests that carry a
  bearer token (browsers never send one on their own), so a session cookie alone can
  never change anything;
- login throttling (:mod:`.throttle`);
- security headers with a CSP nonce (:mod:`.security`), ``csp_nonce()`` in templates;
- the ``/auth`` pages (:mod:`.views`).

Views get the acting user with :func:`current_actor`.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect

from yiti.web.auth.identity import (
    ReauthRequired,
    SessionUnavailable,
    TooManyRequests,
    Unauthorized,
    current_actor,
    current_user_row,
    load_user,
    require_fresh,
)
from yiti.web.auth.security import csp_nonce, init_security
from yiti.web.auth.sessions import (
    configure_sessions,
    sessions_unavailable,
    unavailable_response,
)
from yiti.web.auth.throttle import Limits, throttle_for
from yiti.web.redis_link import app_link

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: A view function with this attribute set true takes no identity from the session (a
#: public endpoint, e.g. a payment callback), so a forged cross-site request can act as
#: nobody: it needs no CSRF token.
CSRF_EXEMPT = "yiti_csrf_exempt"

__all__ = [
    "CSRF_EXEMPT", "ReauthRequired", "SessionUnavailable", "TooManyRequests",
    "Unauthorized", "csp_nonce",
    "current_actor", "current_user_row", "init_app", "require_fresh",
]


def init_app(app: Flask) -> None:
    from yiti.web.auth.identity import bearer_token, raise_if_session_lost
    from yiti.web.auth.views import bp, redirect_to_login

    site = app.extensions["yiti"]
    configure_sessions(app, site)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, per request
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf = CSRFProtect(app)
    app.extensions["yiti_throttle"] = throttle_for(
        site, app.config.get("YITI_LOGIN_LIMITS") or Limits(), app_link(app))

    manager = LoginManager(app)
    manager.session_protection = "strong"
    manager.user_loader(load_user)

    @manager.unauthorized_handler
    def unauthorized() -> Response:
        if request.path.startswith("/api/"):
            raise_if_session_lost()
            raise Unauthorized("sign in first")
        return redirect_to_login()

    @app.before_request
    def check_csrf() -> None:
        if request.method in UNSAFE_METHODS and bearer_token() is None:
            view = app.view_functions.get(request.endpoint or "")
            if not getattr(view, CSRF_EXEMPT, False):
                csrf.protect()

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> tuple[object, int] | Response:
        if sessions_unavailable():  # the token is in a session the store cannot give
            answer = unavailable_response()
            if request.endpoint == "auth.logout":  # this browser forgets it all the same
                answer.delete_cookie(app.config["SESSION_COOKIE_NAME"],
                                     domain=app.config.get("SESSION_COOKIE_DOMAIN"),
                                     path=app.config.get("SESSION_COOKIE_PATH") or "/")
            return answer
        if request.path.startswith("/api/"):
            from yiti.web.api.problems import problem

            return problem(403, "csrf", "CSRF token missing or wrong",
                           "send the X-CSRFToken header (GET /api/v1/_me gives the token), "
                           "or use an API token")
        return ("<!doctype html><title>Refused</title><p>This form expired or was not sent "
                "by this site. Go back, reload the page and try again.</p>", 400)

    init_security(app)
    app.register_blueprint(bp)
