"""The REST API at ``/api/v1``: CRUD, lists, transitions and history of every entity, an
OpenAPI 3.1 document, a browsable index, and administration (permissions, explain,
tokens). See docs/api.md.

``init_app(app)`` is listed in :data:`yiti.web.app.BLUEPRINTS`.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    from yiti.web.api import (  # noqa: F401  (routes)
        admin,
        browse,
        files,
        openapi,
        records,
        scripts,
    )
    from yiti.web.api.blueprint import bp
    from yiti.web.api.problems import from_http

    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def api_http_error(error: HTTPException) -> Response | HTTPException:
        # Routing errors (an unknown path, a method not allowed) happen before any
        # blueprint is chosen: answer them as problems under /api/, untouched elsewhere.
        if request.path.startswith("/api/"):
            return from_http(error)
        return error
