"""Conditional fields on the loan form: ``visible_if: {returned_at: "status == 'returned'"}``
in forms/loan.yaml and ``returned_at: {required_if: "status == 'returned'"}`` on the entity.

The server decides, when the form renders and through ``/app/loan/form-state``."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def stock(records):  # noqa: ANN001, ANN201
    contact = records.create("contact", {"full_name": "Ann Lee", "email": "ann@example.com"})
    item = records.create("item", {"code": "BK-1", "title": "SICP", "deposit": "20.00"})
    return contact, item


def loan_form(contact: dict, item: dict, **extra: str) -> dict:
    return {"contact": str(contact["id"]), "loan_date": "2026-11-11", "due_date": "2026-11-30",
            "status": "open", "late_fee_rate": "0", "notes": "", "returned_at": "",
            "lines.present": "1", "lines[0].item": str(item["id"]), "lines[0].qty": "1",
            "lines[0].deposit": "20.00", **extra}


def returned_block(html: str) -> str:
    """The opening tag of the returned_at wrapper and its required marker."""
    box = re.search(r'<div class="yiti-conditional" data-field="returned_at"[^>]*>', html)
    mark = re.search(r'<span class="text-danger yiti-required-mark" data-for="returned_at"'
                     r'[^>]*>', html)
    assert box and mark, "returned_at is not rendered as a conditional field"
    return box.group(0) + mark.group(0)


def test_a_new_open_loan_hides_returned_at_but_keeps_its_input(client):
    html = client.get("/app/loan/new").get_data(as_text=True)
    block = returned_block(html)
    assert " hidden>" in block.split("<span")[0]  # the wrapper is hidden...
    assert 'name="returned_at"' in html  # ...but its input is still posted
    assert 'data-state-url="/app/loan/form-state"' in html
    # Forms without conditions don't ask the server.
    assert "data-state-url" not in client.get("/app/contact/new").get_data(as_text=True)


def test_a_returned_loan_shows_returned_at_as_required(client, records, stock):
    contact, item = stock
    loan = records.create("loan", {"contact": contact["id"], "loan_date": "2026-11-11",
                                   "status": "returned", "returned_at": "2026-11-20T10:00:00",
                                   "lines": [{"item": item["id"], "qty": 1}]})
    html = client.get(f"/app/loan/{loan['id']}/edit").get_data(as_text=True)
    block = returned_block(html)
    assert "hidden" not in block  # shown, with the required marker
    assert re.search(r'id="returned_at" name="returned_at"[^>]*aria-required="true"', html)
    assert f'data-state-url="/app/loan/form-state?record={loan["id"]}"' in html


def test_form_state_answers_for_the_values_posted(client, records, stock):
    r = client.post("/app/loan/form-state", {"status": "returned"})
    assert r.status_code == 200 and r.is_json
    assert r.get_json() == {"hidden": [], "required": ["returned_at"]}
    r = client.post("/app/loan/form-state", {"status": "open"})
    assert r.get_json() == {"hidden": ["returned_at"], "required": []}
    # A stored record fills in what the form does not post.
    contact, item = stock
    loan = records.create("loan", {"contact": contact["id"], "loan_date": "2026-11-11",
                                   "lines": [{"item": item["id"], "qty": 1}]})
    r = client.post(f"/app/loan/form-state?record={loan['id']}", {"status": "returned"})
    assert r.get_json()["required"] == ["returned_at"]


def test_form_state_needs_the_csrf_token(client):
    r = client.raw.post("/app/loan/form-state", data={"status": "returned"})
    assert r.status_code in (400, 403)


def test_a_save_missing_a_conditionally_required_field_shows_the_error_on_it(
        client, records, stock):
    contact, item = stock
    r = client.post("/app/loan/new", loan_form(contact, item, status="returned"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'<div class="invalid-feedback d-block" id="returned_at-error">'
                     r'is required</div>', html)
    assert "hidden" not in returned_block(html)  # the field with the error is in view
    assert records.list("loan").rows == []
    # With the date given, it saves.
    r = client.post("/app/loan/new", loan_form(contact, item, status="returned",
                                               returned_at="2026-11-20T10:00"))
    assert r.status_code == 302
    assert records.list("loan").rows[0]["status"] == "returned"
