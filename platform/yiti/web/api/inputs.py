"""Checks every ``/api/v1`` request gets before its view runs, so input no database or
parser can take is refused at its name (a 400, 404 or 422) instead of failing as a 500:

- a body that cannot be read (a broken chunked encoding): ``400``; one over
  :data:`MAX_BODY` (a file upload excepted, which has its own bound): ``413``;
- NUL characters in the query, in a JSON body's text or a form body (PostgreSQL refuses
  them in text): ``422`` at the field (a file's bytes may hold any);
- JSON nested too deeply to parse: ``422`` at ``body``;
- text holding a lone UTF-16 surrogate (``"\\ud800"``, which no database can store):
  ``422`` at the field holding it;
- a record id or name in the URL that no record can have (beyond 64 bits, digits that
  are not ASCII, like ``٣`` or ``²``, a NUL): ``404``, as for any id that does not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from yiti.errors import FieldProblem, NotFound, ValidationError
from yiti.values import MAX_ID
from yiti.web.auth import current_actor

#: The largest body of a request other than a file upload (413 ``too_large`` beyond).
MAX_BODY = 16 * 1024 * 1024

#: How deep a JSON body may nest (objects and lists); Python's parser gives up near 1000.
MAX_DEPTH = 64


def check_input() -> None:
    """``before_request`` of the API's blueprints (see the module's docstring)."""
    bad = impossible_ident()
    if bad is not None:
        current_actor()  # 401 first, as for any id, when no one is signed in
        raise NotFound(f"no record {bad[:40]!r}")
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        raise _refused("query", "must not contain NUL characters", "nul")
    if request.endpoint != "api.upload_file":  # which bounds its own (docs/api.md, Files)
        request.max_content_length = MAX_BODY
    if request.mimetype == "multipart/form-data":
        return  # a file's bytes are its own, NUL and all: read (bounded) by the view
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise RequestEntityTooLarge(f"a request body may have at most "
                                    f"{MAX_BODY // (1024 * 1024)} MB") from None
    except (OSError, ValueError):  # a broken chunked body, a connection cut short
        raise BadRequest("the request body could not be read") from None
    if request.mimetype == "application/x-www-form-urlencoded" and (
            b"\x00" in data or b"%00" in data):
        raise _refused("body", "must not contain NUL characters", "nul")
    if data and request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            raise _refused("body", f"is nested too deeply (at most {MAX_DEPTH} levels)",
                           "too_deep") from None
        problem = text_problem(body, "body")
        if problem is not None:
            raise ValidationError([problem])


def impossible_ident() -> str | None:
    """The record id or name in this request's URL (its ``ident``) when no record can
    have it (:func:`possible_id`), else None."""
    value = (request.view_args or {}).get("ident")
    return None if value is None or possible_id(value) else str(value)


def check_page_ident() -> None:
    """``before_request`` of the screens' blueprints (after their sign-in check): an id
    in the URL no record can have is the 404 page, as for any id that does not exist
    (not a 500, nor a POST's redirect back with a message)."""
    if impossible_ident() is not None:
        abort(404)


def possible_id(value: object) -> bool:
    """False for an id in a URL that no record can have: digits beyond 64 bits or not
    ASCII. Anything else (a name, a valid id) is for the view to look up."""
    if isinstance(value, int):
        return 0 <= value <= MAX_ID
    text = str(value)
    if "\x00" in text:
        return False  # no name holds one (and PostgreSQL refuses it)
    if not text.isdigit():
        return True  # a name
    return text.isascii() and len(text) <= 19 and int(text) <= MAX_ID


def text_problem(value: Any, path: str, depth: int = 0) -> FieldProblem | None:
    """The first text in ``value`` no database can store (a NUL, a lone surrogate), or
    nesting deeper than :data:`MAX_DEPTH`, as a problem at its field (``lines[0].qty``);
    None when all is well. ``path`` names ``value`` itself (``body`` at the top)."""
    if depth > MAX_DEPTH:
        return FieldProblem(path, f"is nested too deeply (at most {MAX_DEPTH} levels)",
                            "too_deep")
    if isinstance(value, str):
        return _text(value, path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = str(key) if path == "body" else f"{path}.{key}"
            found = _text(str(key), inner) or text_problem(item, inner, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = text_problem(item, f"{path}[{i}]", depth + 1)
            if found is not None:
                return found
    return None


def _text(value: str, path: str) -> FieldProblem | None:
    if "\x00" in value:
        return FieldProblem(path, "must not contain NUL characters", "nul")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return FieldProblem(path, "is not valid Unicode text (a lone surrogate)",
                            "invalid_text")
    return None


def _refused(field: str, message: str, code: str) -> ValidationError:
    return ValidationError([FieldProblem(field, message, code)])
