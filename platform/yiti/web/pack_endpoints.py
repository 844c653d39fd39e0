"""Packs' own API endpoints at ``/api/v1/x/<pack>/<name>`` (see docs/hooks.md).

A pack marks a function in its hooks with :func:`yiti.api.endpoint`; ``init_app`` (listed
in :data:`yiti.web.app.BLUEPRINTS`) mounts each one. They behave like the rest of
``/api/v1``, whose parts are imported, not copied: the same authentication (API token or
session), the same problem+json errors, the same ``Idempotency-Key`` handling for POSTs
and the same CSRF rule for sessions. Public endpoints take no identity at all, so they
are exempt from CSRF (:data:`yiti.web.auth.CSRF_EXEMPT`). Writing endpoints (any method
but GET) take a slot of the process's :class:`yiti.web.limits.WriteLimiter` first, and
answer 429 with ``Retry-After`` when none comes free in time. A public GET endpoint
with ``cache_seconds`` is answered from :mod:`yiti.web.page_cache` for callers with no
identity, as cached pack pages are.
"""

from __future__ import annotations

import inspect
import reprlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from yiti.api import ENDPOINT_MARK, EndpointContext, EndpointSpec, Reply
from yiti.definitions.model import Model
from yiti.definitions.options import OPTIONS_KEY, options_problems, resolve_options
from yiti.errors import (
    DefinitionError,
    FieldProblem,
    NotFound,
    ValidationError,
    YitiError,
    did_you_mean,
)
from yiti.extensions import marked, marked_in
from yiti.messages import Message
from yiti.permissions.rules import ADMINISTRATOR
from yiti.site import Site
from yiti.web.api.blueprint import engine_error, http_error, no_store
from yiti.web.api.idempotency import idempotent
from yiti.web.api.inputs import check_input
from yiti.web.api.problems import problem
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site
from yiti.web.auth import CSRF_EXEMPT, current_actor
from yiti.web.limits import Overloaded, limiter_for
from yiti.web.page_cache import cached_response, install, mark_shared, share, shared_key

PREFIX = "/api/v1/x"


def endpoints_of(site: Site) -> list[tuple[str, EndpointSpec]]:
    """``(pack, spec)`` of every endpoint the site's packs declare, duplicates refused,
    with the ``x-yiti-options`` of their schemas resolved against the site's model
    (:mod:`yiti.definitions.options`: a select field's values as ``enum``)."""
    out: list[tuple[str, EndpointSpec]] = []
    seen: dict[tuple[str, str], str] = {}
    for pack, fn, spec in marked(site, ENDPOINT_MARK):
        for method in spec.methods:
            key = (f"{pack}/{spec.name}", method)
            if key in seen:
                raise ValueError(f"{method} {PREFIX}/{key[0]} is declared twice: by "
                                 f"{seen[key]} and {fn.__qualname__}")
            seen[key] = fn.__qualname__
        try:
            request = resolve_options(spec.request, site.model)
            response = resolve_options(spec.response, site.model)
        except ValueError as error:
            raise ValueError(f"{PREFIX}/{pack}/{spec.name} ({fn.__qualname__}): "
                             f"{OPTIONS_KEY}: {error}") from None
        if request is not spec.request or response is not spec.response:
            spec = replace(spec, request=request, response=response)
        out.append((pack, spec))
    return out


def endpoint_problems(model: Model) -> list[DefinitionError]:
    """Each ``x-yiti-options`` of the packs' endpoint schemas that names no select field
    of ``model``, at the endpoint's function (``yiti check`` reports them). Hooks that
    do not import are :func:`yiti.extensions.hooks_problems`' to report."""
    from yiti.definitions.source import display_path, key_text

    problems = []
    for pack, fn, spec in marked_in(model.modules, ENDPOINT_MARK, skip_broken=True):
        path = display_path(Path(inspect.getsourcefile(fn) or pack))
        line = fn.__code__.co_firstlineno
        for part in ("request", "response"):
            for at, message in options_problems(getattr(spec, part), model):
                problems.append(DefinitionError(
                    path, line, f"endpoint {spec.name}: {key_text((part, *at))}", message))
    return problems


def init_app(app: Flask) -> None:
    """Mount every pack endpoint of the app's site (a blueprint per app)."""
    site: Site = app.extensions["yiti"]
    bp = Blueprint("pack_endpoints", __name__, url_prefix=PREFIX)
    bp.before_request(check_input)
    bp.after_request(no_store)
    bp.register_error_handler(YitiError, engine_error)
    bp.register_error_handler(HTTPException, http_error)
    endpoints = endpoints_of(site)
    install(app, {f"{PREFIX}/{pack}/{spec.name}" for pack, spec in endpoints
                  if spec.cache_seconds})
    for pack, spec in endpoints:
        view = _view(pack, spec)
        bp.add_url_rule(f"/{pack}/{spec.name}", endpoint=f"{pack}__{spec.name}".replace(
            "/", "__").replace("-", "_"), view_func=view, methods=list(spec.methods))
    app.register_blueprint(bp)


def _view(pack: str, spec: EndpointSpec) -> Callable[[], Response]:
    def view() -> Response:
        site = current_site()
        actor = None
        if spec.auth == "user":
            actor = current_actor()  # 401 without a token or session
            if spec.roles and not actor.system and ADMINISTRATOR not in actor.roles \
                    and not set(spec.roles) & set(actor.roles):
                raise NotFound(f"no endpoint {pack}/{spec.name}")  # leaks nothing
        shared = shared_key(spec.cache_seconds) if request.method == "GET" else ""
        hit = cached_response(shared)
        if hit is not None:
            return hit
        ctx = EndpointContext(
            site=site, pack=pack, name=spec.name, method=request.method, actor=actor,
            json=request.get_json(silent=True), body=request.get_data(cache=True),
            args=request.args.to_dict(), headers=dict(request.headers))
        if spec.request is not None:
            check_request(spec, ctx.args if request.method == "GET" else ctx.body_object())

        def run() -> Response:
            try:
                with site.records().unit_of_work():
                    response = _response(spec.fn(ctx))
                    if response.status_code >= 400:  # a refusal changes nothing
                        raise _Refused(response)
            except _Refused as refused:
                return refused.response
            return response

        def answer() -> Response:
            if request.method == "POST" and actor is not None:
                return idempotent(site, actor.name, run)
            return run()

        if request.method == "GET":
            response = answer()
            if shared and response.status_code == 200:
                share(shared, spec.cache_seconds)
                mark_shared(response, spec.cache_seconds)
            return response
        limiter = limiter_for(current_app)
        try:
            with limiter.slot():
                return answer()
        except Overloaded:
            return problem(429, "too_many_requests", detail=(
                f"{pack}/{spec.name} is busy: {limiter.slots} requests are being served; "
                "try again in a moment"), headers={"Retry-After": "1"})

    view.__name__ = f"{pack}_{spec.name}".replace("/", "_").replace("-", "_")
    setattr(view, CSRF_EXEMPT, spec.auth == "public")
    return view


def check_request(spec: EndpointSpec, data: Any) -> None:
    """Refuse (422, every problem naming its field) a request that does not match the
    endpoint's declared ``request`` schema."""
    from yiti.definitions.source import key_text

    problems: dict[str, FieldProblem] = {}
    for error in _validator(spec.request or {}).iter_errors(data):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            for key in error.validator_value:
                if key not in error.instance:
                    name = key_text([*path, key])
                    problems.setdefault(name, FieldProblem(name, Message("is required"), "required"))
            continue
        known = error.schema.get("properties") or {}
        if error.validator == "additionalProperties" and isinstance(error.instance, dict) \
                and not error.schema.get("patternProperties"):
            # Named like the records API's unknown fields, not as the object holding them.
            for key in error.instance:
                if key not in known:
                    name = key_text([*path, key])
                    hint = did_you_mean(str(key), known)
                    problems.setdefault(name, FieldProblem(
                        name, "is not a field of this request" + (f"; {hint}" if hint else ""),
                        "unknown_field"))
            continue
        name = key_text(path) or "body"
        problems.setdefault(name, FieldProblem(name, _message(error), str(error.validator)))
    if problems:
        raise ValidationError(sorted(problems.values(), key=lambda p: p.field))


#: Said of a value of the wrong size, instead of jsonschema's message, which repeats it.
_SIZES = {"maxLength": "is longer than {} characters",
          "minLength": "must have at least {} characters",
          "maxItems": "has more than {} items", "minItems": "must have at least {} items",
          "maxProperties": "has more than {} keys", "minProperties": "must have at least {} keys"}


def _message(error: Any) -> str:
    """jsonschema's message for ``error``, without a long value repeated whole (a
    megabyte string sent back in the answer, and in the log)."""
    if error.validator in _SIZES:
        if error.validator.startswith("min") and error.validator_value == 1:
            return "must not be empty"
        return _SIZES[error.validator].format(error.validator_value)
    shown = repr(error.instance)
    if len(shown) > 80 and error.message.startswith(shown):
        return reprlib.repr(error.instance) + error.message[len(shown):]
    return error.message


_VALIDATORS: dict[int, tuple[Any, Any]] = {}


def _validator(schema: Any) -> Any:
    """The (cached) validator of a declared schema."""
    from jsonschema import Draft202012Validator

    found = _VALIDATORS.get(id(schema))
    if found is None or found[0] is not schema:
        found = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(dict(schema)))
    return found[1]


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _response(result: object) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Reply):
        if result.status == 204:
            return Response(status=204, headers=dict(result.headers))
        return json_response(result.body, result.status, result.headers)
    return json_response(result)
