"""Where a workflow submits (cancels) a document, the OpenAPI document leaves out the plain
``/submit`` (``/cancel``), which answers 409 naming the workflow's action to take instead.

The ``lifecycle`` test pack: a requisition submitted and cancelled by its workflow
(``document_lifecycle``), a voucher submitted by its workflow (``post``) and cancelled
the plain way; the example pack's loan has no workflow and keeps both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask.testing import FlaskClient

from yiti.site import Site

from .conftest import OWN_PACKS, migrated


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from migrated(db_url, tmp_path, [OWN_PACKS], ["example", "lifecycle"])


def test_the_document_leaves_out_what_the_workflow_does(doc: dict) -> None:
    schemathesis.openapi.from_dict(doc).validate()
    paths = doc["paths"]
    for action in ("submit", "cancel"):
        assert f"/api/v1/requisition/{{id}}/{action}" not in paths
        assert f"/api/v1/loan/{{id}}/{action}" in paths  # no workflow: both documented
    assert "/api/v1/requisition/{id}/amend" in paths
    assert "/api/v1/requisition/{id}/actions/submit" in paths  # the workflow's own
    assert "/api/v1/requisition/{id}/actions/cancel_document" in paths
    assert "/api/v1/voucher/{id}/submit" not in paths
    assert "/api/v1/voucher/{id}/actions/post" in paths
    assert "/api/v1/voucher/{id}/cancel" in paths  # its workflow cancels nothing
    assert not [op for item in paths.values() for op in item.values()
                if isinstance(op, dict) and op.get("operationId") in (
                    "submit_requisition", "cancel_requisition", "submit_voucher")]


def test_the_left_out_endpoints_answer_409_naming_the_action(client: FlaskClient,
                                                             make_user) -> None:
    auth = make_user("bea", "Buyer")
    requisition = client.post("/api/v1/requisition", json={"title": "Paper"}, headers=auth)
    assert requisition.status_code == 201, requisition.json
    ident = requisition.json["id"]
    refused = client.post(f"/api/v1/requisition/{ident}/submit", json={"version": 1},
                          headers=auth)
    assert refused.status_code == 409
    assert refused.mimetype == "application/problem+json"
    # the action it can take from draft, not the one that finally submits it
    assert "take the action 'submit' instead" in refused.json["detail"]
    assert client.get(f"/api/v1/requisition/{ident}", headers=auth).json["docstatus"] == "draft"

    voucher = client.post("/api/v1/voucher", json={"title": "Rent"}, headers=auth).json
    refused = client.post(f"/api/v1/voucher/{voucher['id']}/submit", json={"version": 1},
                          headers=auth)
    assert refused.status_code == 409 and "'post'" in refused.json["detail"]
    posted = client.post(f"/api/v1/voucher/{voucher['id']}/actions/post",
                         json={"version": 1}, headers=auth)
    assert posted.status_code == 200 and posted.json["docstatus"] == "submitted"
    cancelled = client.post(f"/api/v1/voucher/{voucher['id']}/cancel",
                            json={"version": posted.json["version"]}, headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["docstatus"] == "cancelled"
