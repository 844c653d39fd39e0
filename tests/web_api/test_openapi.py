"""The OpenAPI document, checked by schemathesis against the running app."""

from __future__ import annotations

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)


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
    auth = make_user("lib", "Librarian")
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").json)
    schema.app = app
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance,
              content_type_conformance]
    failures: list[str] = []
    statuses: list[int] = []
    ops = [op for result in schema.get_all_operations() if (op := result.ok()) is not None]
    assert len(ops) > 20
    for operation in ops:
        @settings(max_examples=6, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(app=app, headers=dict(auth))
            statuses.append(response.status_code)
            try:
                case.validate_response(response, checks=checks)
            except Exception as error:  # collect them all, report together
                failures.append(f"{case.method} {case.path}: {error}"[:800])

        run()
    assert not failures, "\n\n".join(failures[:5])
    assert len(statuses) > 100 and 200 in statuses and 201 in statuses, sorted(set(statuses))
