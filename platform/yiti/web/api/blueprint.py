"""The ``/api/v1`` blueprint and its error handling: every error is a problem+json."""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from yiti.errors import YitiError
from yiti.web.api.problems import field_error, from_error, from_http
from yiti.web.auth.views import THEME_TEMPLATES

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder=str(THEME_TEMPLATES))


@bp.before_request
def refuse_nul() -> None:
    """NUL characters are never valid text (PostgreSQL refuses them): a 422, not a 500."""
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        raise field_error("query", "must not contain NUL characters", "nul")
    data = request.get_data(cache=True)
    if b"\x00" in data or b"\\u0000" in data:
        raise field_error("body", "must not contain NUL characters", "nul")


@bp.errorhandler(YitiError)
def engine_error(error: YitiError) -> Response:
    response = from_error(error)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="yiti"'
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return from_http(error)


@bp.after_request
def no_store(response: Response) -> Response:
    """API responses hold business data: never cached by shared caches."""
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.vary.add("Authorization")
    return response
