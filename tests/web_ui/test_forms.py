"""Form and detail screens: create and edit with child lines, errors on the right input,
stale saves, history, submit/cancel/amend."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def stock(records):  # noqa: ANN001, ANN201
    contact = records.create("contact", {"full_name": "Ann Lee", "email": "ann@example.com"})
    items = [records.create("item", {"code": "BK-1", "title": "SICP", "deposit": "20.00"}),
             records.create("item", {"code": "TL-1", "title": "Drill", "deposit": "150.00"})]
    return contact, items


def loan_form(contact: dict, lines: list[tuple], **extra: str) -> dict:
    data = {"contact": str(contact["id"]), "loan_date": "2026-11-11", "due_date": "2026-11-30",
            "status": "open", "late_fee_rate": "0", "notes": "", "lines.present": "1", **extra}
    for i, (item, qty) in enumerate(lines):
        data[f"lines[{i}].item"] = str(item["id"])
        data[f"lines[{i}].qty"] = str(qty)
        data[f"lines[{i}].deposit"] = "20.00"
    return data


def invalid_inputs(html: str) -> dict[str, str]:
    """Input name → the error message shown under it."""
    return {m.group(1): m.group(2).strip() for m in re.finditer(
        r'<div class="invalid-feedback d-block" id="([^"]+)-error">([^<]*)</div>', html)}


def test_the_form_follows_the_form_definition(client):
    html = client.get("/app/contact/new").get_data(as_text=True)
    # Tabs and sections of forms/contact.yaml, fields in their columns.
    assert 'id="tab-main"' in html and 'id="tab-more"' in html
    assert html.index(">Person<") < html.index('name="full_name"') < html.index('name="email"')
    assert html.index('name="email"') < html.index(">Lending<") < html.index('name="credit_limit"')
    # The extension pack's new field has a place, and its relabelled phone is used.
    assert 'name="wechat_id"' in html and ">Mobile" in html
    # A widget per type.
    assert 'type="email" id="email"' in html and 'type="tel" id="phone"' in html
    assert 'type="url" id="website"' in html and 'type="date" id="birthday"' in html
    assert re.search(r'type="number"[^>]*name="credit_limit"', html)
    assert 'type="file" id="photo" name="photo.file"' in html
    assert re.search(r'<textarea[^>]*name="preferences"', html)
    assert re.search(r'<select[^>]*name="source"', html)
    assert 'type="checkbox" id="active" name="active" value="1" checked' in html
    assert re.search(r'name="group.search"[^>]*\n?[^>]*hx-get="/app/contact_group/lookup"', html)
    # Required marker on the required field.
    assert re.search(r'for="full_name">Full name <span class="text-danger"', html)


def test_create_with_child_lines(client, records, stock):
    contact, items = stock
    r = client.post("/app/loan/new", loan_form(contact, [(items[0], 1), (items[1], 2)]))
    assert r.status_code == 302, invalid_inputs(r.get_data(as_text=True))
    loan = records.list("loan").rows[0]
    saved = records.get("loan", loan["id"])
    assert [(line["item"], line["qty"]) for line in saved["lines"]] == [
        (items[0]["id"], 1), (items[1]["id"], 2)]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "BK-1 · SICP" in html and "TL-1 · Drill" in html  # link titles on the detail


def test_validation_errors_land_on_their_inputs(client, records, stock):
    contact, items = stock
    data = loan_form(contact, [(items[0], 1), (items[1], 0)], due_date="2026-01-01")
    r = client.post("/app/loan/new", data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    errors = invalid_inputs(html)
    assert "lines[1].qty" in errors and "lines[0].qty" not in errors
    assert re.search(r'class="[^"]*is-invalid[^"]*"[^>]*id="lines\[1\]\.qty"', html)
    # What the user typed is still there, and nothing was saved.
    assert 'value="2026-01-01"' in html
    assert records.count("loan").value == 0
    # Quantity fixed, the rule on the dates speaks (rules run once the values parse).
    data["lines[1].qty"] = "3"
    errors = invalid_inputs(client.post("/app/loan/new", data).get_data(as_text=True))
    assert errors == {"due_date": "The due date cannot be before the loan date"}
    # Fixed, it saves.
    data["due_date"] = "2026-12-01"
    assert client.post("/app/loan/new", data).status_code == 302


def test_required_and_type_errors(client):
    r = client.post("/app/contact/new", {"full_name": "", "email": "not-an-email",
                                         "preferences": "{not json"})
    errors = invalid_inputs(r.get_data(as_text=True))
    assert set(errors) >= {"preferences"}
    r = client.post("/app/contact/new", {"full_name": "", "email": "not-an-email"})
    errors = invalid_inputs(r.get_data(as_text=True))
    assert set(errors) >= {"full_name", "email"}


def test_edit_keeps_lines_and_reorders(client, records, stock):
    contact, items = stock
    loan = records.create("loan", {"contact": contact["id"], "lines": [
        {"item": items[0]["id"], "qty": 1}, {"item": items[1]["id"], "qty": 2}]})
    html = client.get(f"/app/loan/{loan['id']}/edit").get_data(as_text=True)
    assert f'name="version" value="{loan["version"]}"' in html
    assert 'value="BK-1 · SICP"' in html  # the link input shows the title
    first, second = loan["lines"]
    data = loan_form(contact, [(items[1], 5)], version=str(loan["version"]))
    data["lines[0].id"] = str(second["id"])  # keep line 2, drop line 1
    r = client.post(f"/app/loan/{loan['id']}/edit", data)
    assert r.status_code == 302, invalid_inputs(r.get_data(as_text=True))
    saved = records.get("loan", loan["id"])
    assert [(x["id"], x["qty"]) for x in saved["lines"]] == [(second["id"], 5)]


def test_a_stale_save_is_refused_and_keeps_the_input(client, records, stock):
    contact, _ = stock
    form_version = contact["version"]
    records.update("contact", contact["id"], {"phone": "+86 21 5555 0000"})  # someone else
    r = client.post(f"/app/contact/{contact['id']}/edit", {
        "full_name": "Ann Lee-Wong", "email": "ann@example.com", "version": str(form_version)})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert 'id="conflict"' in html and "changed by someone else" in html
    assert 'value="Ann Lee-Wong"' in html
    assert records.get("contact", contact["id"])["full_name"] == "Ann Lee"


def test_detail_shows_history_and_document_actions(client, records, stock):
    contact, items = stock
    loan = records.create("loan", {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]})
    records.update("loan", loan["id"], {"notes": "fragile"})
    html = client.get(f"/app/loan/{loan['id']}").get_data(as_text=True)
    history = html.split('id="history"', 1)[1]
    assert "update" in history and "fragile" in history and "create" in history
    assert "/submit" in html and "/cancel" not in html
    version = records.get("loan", loan["id"])["version"]
    r = client.post(f"/app/loan/{loan['id']}/submit", {"version": str(version)})
    assert records.get("loan", loan["id"])["docstatus"] == "submitted"
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "/cancel" in html and f"/app/loan/{loan['id']}/edit" not in html
    client.post(f"/app/loan/{loan['id']}/cancel", {"version": str(version + 1)})
    r = client.post(f"/app/loan/{loan['id']}/amend")
    assert r.status_code == 302 and r.headers["Location"].endswith("/edit")
    amended = records.get("loan", int(r.headers["Location"].split("/")[-2]))
    assert amended["amended_from"] == loan["id"] and amended["docstatus"] == "draft"


def test_delete_from_the_detail(client, records, stock):
    contact, _ = stock
    r = client.post(f"/app/contact/{contact['id']}/delete", {"version": str(contact["version"])})
    assert r.status_code == 302
    assert records.count("contact").value == 0


def test_attachment_upload(client, records):
    import io

    r = client.post("/app/contact/new", {
        "full_name": "Pic", "photo.file": (io.BytesIO(b"\x89PNG fake"), "me.png", "image/png")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    assert records.list("contact").rows[0]["photo"] is not None


def test_lookup_goes_through_the_service(client, records, stock):
    html = client.get("/app/contact/lookup?group.search=ann").get_data(as_text=True)
    assert 'data-title="C-00001 · Ann Lee"' in html
    assert "No matches" in client.get("/app/contact/lookup?q=zzz").get_data(as_text=True)


def test_a_value_that_fails_the_pattern_names_it_under_its_input(client, records):
    r = client.post("/app/item/new", {"code": "lower case", "title": "SICP", "kind": "book"})
    assert r.status_code == 422
    assert invalid_inputs(r.get_data(as_text=True))["code"] == (
        "must match the pattern ^[A-Z0-9-]+$")
    assert records.count("item").value == 0
