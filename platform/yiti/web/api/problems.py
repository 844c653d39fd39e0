"""Errors as RFC 9457 ``application/problem+json``: one shape for every error of the API.

::

    {"type": "https://yiti.dev/problems/validation", "title": "Validation failed",
     "status": 422, "detail": "email: is not an e-mail address", "code": "validation",
     "errors": [{"field": "email", "message": "is not an e-mail address", "code": "email"}]}

``errors`` is always there (empty when no field is at fault); ``code`` is stable, for
programs; ``detail`` is for people.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException

from yiti.errors import ValidationError, YitiError, joined

TYPE_BASE = "https://yiti.dev/problems/"
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
    412: "Precondition failed", 413: "Request too large", 415: "Unsupported media type",
    422: "Validation failed", 428: "Precondition required", 429: "Too many requests",
    500: "Server error", 503: "Service unavailable",
}


def problem(status: int, code: str, title: str | None = None, detail: str | None = None,
            errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> Response:
    """A problem response; ``extra``: members of the problem's own (RFC 9457 extensions)."""
    body = {
        "type": TYPE_BASE + code,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or title or TITLES.get(status, "Error"),
        "code": code,
        "errors": errors or [],
        **(extra or {}),
    }
    # a message may quote the request's own text, lone surrogates and all: replaced, so
    # the refusal itself never fails to encode
    response = Response(json.dumps(body, ensure_ascii=False).encode("utf-8", "replace"),
                        status=status, mimetype=MEDIA_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_error(error: YitiError) -> Response:
    """The problem for an engine error (its ``status`` and ``code``), its messages in the
    request's language where they are messages (:class:`~yiti.messages.Message`) with a
    translation (the screens' choice: session, ``yiti_lang`` cookie, ``Accept-Language``);
    ``code`` and ``field`` never change."""
    from yiti.web.ui.i18n import say

    errors = []
    message = say(error.message)
    if isinstance(error, ValidationError):
        errors = [{**p.to_dict(), "message": say(p.message)} for p in error.problems]
        message = joined((e["field"], e["message"]) for e in errors)
    headers = {}
    retry = error.details.get("retry_after") if error.details else None
    if retry:
        headers["Retry-After"] = str(retry)
    status = error.status if 400 <= error.status < 600 else 500
    # 503s say why (a store is away, try again later); other 5xx carry nothing of the error
    detail = (message if status < 500 or status == 503
              else "the server could not complete the request")
    return problem(status, error.code, None, detail, errors, headers)


def from_http(error: HTTPException) -> Response:
    status = error.code or 500
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
            406: "not_acceptable", 413: "too_large", 415: "unsupported_media_type"
            }.get(status, "http_error")
    response = problem(status, code, None, error.description)
    if status == 405 and error.get_headers():
        for key, value in error.get_headers():
            if key.lower() == "allow":
                response.headers["Allow"] = value
    return response


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    from yiti.errors import FieldProblem

    return ValidationError([FieldProblem(field, message, code)])


def problem_schema() -> dict[str, Any]:
    """The JSON Schema of a problem, for the OpenAPI document."""
    return {
        "type": "object",
        "required": ["type", "title", "status", "detail", "code", "errors"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object", "required": ["field", "message", "code"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                               "code": {"type": "string"}},
            }},
        },
    }
