"""@api.endpoint's ``status`` and ``errors``: refused at import when they are not HTTP
statuses, and what the OpenAPI document lists for them (the declared ones plus those the
engine itself answers)."""

from __future__ import annotations

from typing import Any

import pytest

from yiti import api
from yiti.web.api.openapi import PACK_ERRORS, pack_endpoint_paths, pack_statuses


def spec(**options: Any) -> api.EndpointSpec:
    def fn(ctx: api.EndpointContext) -> dict:
        return {}

    return getattr(api.endpoint("things/add", **options)(fn), api.ENDPOINT_MARK)


@pytest.mark.parametrize(("options", "message"), [
    ({"status": 299}, "status must be an HTTP success status"),
    ({"status": 404}, "status must be an HTTP success status"),
    ({"status": "201"}, "status must be an HTTP success status"),
    ({"status": True}, "status must be an HTTP success status"),
    ({"errors": (404, 499)}, r"errors must be HTTP error statuses .*\[499\]"),
    ({"errors": (200,)}, r"errors must be HTTP error statuses .*\[200\]"),
    ({"errors": ("404",)}, r"errors must be HTTP error statuses .*\['404'\]"),
    ({"errors": 404}, "errors must be a list of HTTP error statuses"),
    ({"methods": ["GET"], "auth": "public", "cache_seconds": 5, "status": 203},
     "only a 200 answer is cached"),
])
def test_statuses_that_are_not_are_refused_at_import(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(**options)


def test_errors_are_kept_sorted_once() -> None:
    assert spec(errors=[422, 404, 404]).errors == (404, 422)
    assert spec().errors is None and spec().status is None


def test_without_a_declaration_the_document_is_as_before() -> None:
    assert pack_statuses(spec(), "POST") == ("2XX", PACK_ERRORS)
    assert pack_statuses(spec(methods=["GET"]), "GET") == (
        "200", tuple(s for s in PACK_ERRORS if s != "429"))


def test_declared_errors_and_what_the_engine_adds() -> None:
    # a user's POST: 401/403 (credentials, CSRF), 409 (Idempotency-Key in use), 422, 429
    assert pack_statuses(spec(status=201, errors=()), "POST") == (
        "201", ("401", "403", "409", "422", "429"))
    assert pack_statuses(spec(errors=(404,), roles=["Staff"], methods=["GET"]), "GET") == (
        "200", ("401", "403", "404", "422"))
    assert pack_statuses(spec(errors=(401,), auth="public"), "POST") == (
        "2XX", ("401", "422", "429"))
    assert pack_statuses(spec(errors=(), auth="public", methods=["PUT"]), "PUT") == (
        "2XX", ("422", "429"))


def test_the_document_lists_exactly_the_declared_answer() -> None:
    created = spec(status=201, errors=(409,), response={"type": "object"})
    op = pack_endpoint_paths([("p", created)])["/api/v1/x/p/things/add"]["post"]
    assert set(op["responses"]) == {"201", "401", "403", "409", "422", "429"}
    assert op["responses"]["201"]["content"]["application/json"]["schema"] == {
        "type": "object"}
    gone = spec(status=204, errors=(404,))
    op = pack_endpoint_paths([("p", gone)])["/api/v1/x/p/things/add"]["post"]
    assert op["responses"]["204"] == {"description": "done"}  # no body
    assert op["responses"]["404"] == {"$ref": "#/components/responses/problem"}
