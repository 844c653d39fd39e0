"""The OpenAPI document describes packs' endpoints (with the schemas they declare),
analysts' script endpoints and workflow actions, and stays valid OpenAPI 3.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from yiti import api
from yiti.site import Site

from ..openapi_fuzz import fuzz
from .conftest import OWN_PACKS, PACKS, migrated

ERRORS = {"400", "401", "403", "404", "409", "422", "429"}


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from migrated(db_url, tmp_path, [PACKS, OWN_PACKS],
                          ["example", "library_roles", "apidoc"])


def test_the_document_is_valid_openapi(doc: dict) -> None:
    schemathesis.openapi.from_dict(doc).validate()  # raises on any violation of OpenAPI 3.1
    assert doc["openapi"] == "3.1.0"


def test_pack_endpoints_with_their_schemas_auth_and_errors(doc: dict) -> None:
    paths = doc["paths"]
    echo = paths["/api/v1/x/apidoc/notes/echo"]["post"]
    assert echo["summary"] == "Echo a note"
    assert echo["requestBody"]["content"]["application/json"]["schema"]["required"] == ["title"]
    assert echo["responses"]["2XX"]["content"]["application/json"]["schema"]["required"] == [
        "title", "stars"]
    assert set(echo["responses"]) - {"2XX"} == ERRORS
    assert all(r == {"$ref": "#/components/responses/problem"}
               for s, r in echo["responses"].items() if s != "2XX")
    assert "security" not in echo  # the document's default: bearer or session
    assert [p["name"] for p in echo["parameters"]] == ["Idempotency-Key"]

    search = paths["/api/v1/x/apidoc/notes/search"]["get"]
    assert search["summary"] == "Search notes (the docstring's first line is the summary)."
    assert "More words for the description." in search["description"]
    assert "requestBody" not in search
    assert search["parameters"] == [{"name": "q", "in": "query", "required": False,
                                     "schema": {"type": "string"}}]
    assert "429" not in search["responses"]

    ping = paths["/api/v1/x/apidoc/ping"]
    assert set(ping) == {"get", "post"}
    assert ping["post"]["security"] == [] and ping["get"]["security"] == []
    assert ping["post"]["summary"] == "Anyone may ping."
    assert "Idempotency-Key" not in str(ping["post"].get("parameters"))


def test_script_endpoints_and_workflow_actions(doc: dict) -> None:
    script = doc["paths"]["/api/v1/_scripts/stock_of"]["post"]
    assert script["summary"] == "Stock of an item"
    assert "Librarian" in script["description"] and "params: {code}" in script["description"]
    assert script["requestBody"]["content"]["application/json"]["schema"] == {"type": "object"}
    assert set(script["responses"]) == {"200", *ERRORS}

    approve = doc["paths"]["/api/v1/expense_claim/{id}/actions/approve"]
    assert approve["parameters"][0]["name"] == "id"
    post = approve["post"]
    assert post["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/expense_claim"}
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert {"comment", "to", "version"} <= set(body["properties"])
    assert set(post["responses"]) == {"200", *ERRORS}
    assert "/api/v1/expense_claim/{id}/workflow" in doc["paths"]
    assert not [p for p in doc["paths"] if p.startswith("/api/v1/loan/") and "/actions/" in p]


def test_my_approvals_and_delegations(doc: dict) -> None:
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    problem = {"$ref": "#/components/responses/problem"}
    inbox = paths["/api/v1/approvals"]["get"]["responses"]
    item = inbox["200"]["content"]["application/json"]["schema"]["properties"]["data"]["items"]
    assert item == {"$ref": "#/components/schemas/workflow.approval"}
    assert {"id", "entity", "actions", "on_behalf_of"} <= set(
        schemas["workflow.approval"]["properties"])
    assert inbox["401"] == problem
    count = paths["/api/v1/approvals/count"]["get"]["responses"]["200"]
    assert count["content"]["application/json"]["schema"]["required"] == ["count"]
    delegations = paths["/api/v1/approvals/delegations"]
    assert [p["name"] for p in delegations["get"]["parameters"]] == ["user", "all"]
    post = delegations["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/workflow.delegation_input"}
    assert schemas["workflow.delegation_input"]["required"] == ["to_user", "starts", "ends"]
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/workflow.delegation"}
    assert {"403", "422"} <= set(post["responses"]) and post["responses"]["422"] == problem
    end = paths["/api/v1/approvals/delegations/{id}"]["delete"]["responses"]
    assert set(end) == {"204", "400", "401", "403", "404", "429"}


def conforms(doc: dict, name: str, value: object) -> None:
    """Raise unless ``value`` is valid against the document's schema ``name``."""
    Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                          "components": doc["components"]}).validate(value)


def test_a_delegation_answers_as_the_document_says(client: FlaskClient, make_user) -> None:
    doc = client.get("/api/v1/openapi.json").json
    auth = make_user("lib", "Librarian")
    make_user("ali", "Librarian")
    made = client.post("/api/v1/approvals/delegations", headers=auth,
                       json={"to_user": "ali", "starts": "2030-01-01", "ends": "2030-01-02",
                             "reason": "leave"})
    assert made.status_code == 201, made.json
    conforms(doc, "workflow.delegation", made.json)
    listed = client.get("/api/v1/approvals/delegations", headers=auth).json
    assert listed["count"] == 1 and listed["data"][0]["status"] == "upcoming"
    refused = client.post("/api/v1/approvals/delegations", headers=auth, json={"to": "x"})
    assert refused.status_code == 422
    conforms(doc, "problem", refused.json)
    assert client.get("/api/v1/approvals", headers=auth).json == {"data": [], "count": 0}
    assert client.delete(f"/api/v1/approvals/delegations/{made.json['id']}",
                         headers=auth).status_code == 204


def test_a_declared_request_schema_is_enforced(client: FlaskClient, make_user) -> None:
    auth = make_user("lib", "Librarian")
    refused = client.post("/api/v1/x/apidoc/notes/echo", json={"stars": 9}, headers=auth)
    assert refused.status_code == 422
    assert refused.content_type == "application/problem+json"
    assert [e["field"] for e in refused.json["errors"]] == ["stars", "title"]
    done = client.post("/api/v1/x/apidoc/notes/echo", json={"title": "hi"}, headers=auth)
    assert done.status_code == 200 and done.json == {"title": "hi", "stars": 3}
    assert client.get("/api/v1/x/apidoc/notes/search?q=x", headers=auth).json == {"q": "x"}


def test_the_decorator_refuses_what_is_not_a_schema() -> None:
    with pytest.raises(ValueError, match="request is not a JSON Schema"):
        api.endpoint("x", request={"type": "thing"})
    with pytest.raises(ValueError, match="must describe an object"):
        api.endpoint("x", request={"type": "array"})
    with pytest.raises(ValueError, match="response is not a JSON Schema"):
        api.endpoint("x", response={"required": "title"})


@pytest.mark.timeout(60)
def test_schemathesis_over_the_new_operations(app: Flask, make_user) -> None:
    """Packs', scripts' and workflow operations: no 5xx, nothing the document contradicts."""
    run = fuzz(app, make_user("lib", "Librarian"), max_examples=5,
               select=lambda path: any(part in path for part in (
                   "/x/apidoc/", "/_scripts/", "/actions/", "/workflow", "/approvals")))
    assert len(run.operations) >= 10
    assert not run.failures, run.report()
    assert {200, 201, 404, 422} <= set(run.statuses), sorted(set(run.statuses))
