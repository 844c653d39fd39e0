"""The OpenAPI document, checked by schemathesis against the running app."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from ..openapi_fuzz import fuzz


def test_document_describes_every_entity(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    schemas = doc["components"]["schemas"]
    contact = schemas["contact"]["properties"]
    assert contact["credit_limit"]["type"] == ["string", "null"]
    assert "pattern" in contact["credit_limit"]
    assert schemas["contact_input"]["properties"]["source"]["enum"][:2] == ["manual", "import"]
    assert schemas["loan_input"]["required"] == ["contact", "lines"]
    assert schemas["loan"]["properties"]["lines"]["items"]["$ref"].endswith("/loan_line")
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    assert "/api/v1/loan/{id}/submit" in doc["paths"]
    assert "/api/v1/item/{id}/submit" not in doc["paths"]
    assert set(schemas["problem"]["required"]) == {"type", "title", "status", "detail",
                                                   "code", "errors"}


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
        app: Flask, client: FlaskClient, make_user, library) -> None:
    run = fuzz(app, make_user("lib", "Librarian"), max_examples=6)
    assert len(run.operations) > 20
    assert not run.failures, run.report()
    assert len(run.statuses) > 100 and 200 in run.statuses and 201 in run.statuses, \
        sorted(set(run.statuses))
