"""The ``/api/v1`` blueprint and its error handling: every error is a problem+json."""

from __future__ import annotations

from flask import Blueprint, Response
from werkzeug.exceptions import HTTPException

from yiti.errors import YitiError
from yiti.web.api.inputs import check_input
from yiti.web.api.problems import from_error, from_http
from yiti.web.auth.views import THEME_TEMPLATES

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder=str(THEME_TEMPLATES))


#: Before every view: unreadable, NUL-holding, too deep or invalid-Unicode input and ids no
#: record can have are refused at their name, never a 500 (yiti.web.api.inputs).
bp.before_request(check_input)


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
