"""Record and list pages offer only what the signed-in user may do.

The example packs as real roles: an Employee may change only the expense claims they
created, a TeamLead only reads them, a FinanceManager reads and exports them. Each story
checks both sides: the button is there for the role that may use it and absent for the
one that may not, and a post forged without the button is still refused by the server.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

from yiti.permissions import users
from yiti.permissions.policy import Actor
from yiti.site import Site

from .test_admin_pages import SignedIn

PASSWORD = "a long password for the roles"


@pytest.fixture
def people(app: Flask, site: Site) -> dict[str, SignedIn]:
    """Signed-in clients of ann and bob (Employee), lee (TeamLead), mia (Employee and
    TeamLead) and fay (FinanceManager)."""
    roles = {"ann": ["Employee"], "lee": ["TeamLead"], "mia": ["Employee", "TeamLead"],
             "fay": ["FinanceManager"]}
    for name, granted in roles.items():
        users.create_user(site, name, PASSWORD, roles=granted)
    return {name: SignedIn(app, name, PASSWORD) for name in roles}


def claim_of(site: Site, user: str, roles: set[str], title: str) -> int:
    """An expense claim created by ``user`` through the record service as that user."""
    return site.records(Actor(user, frozenset(roles))).create(
        "expense_claim", {"title": title, "amount": "12.00"})["id"]


def buttons(html: str, entity: str, ident: int) -> set[str]:
    """The actions a record page offers: its edit link and its action forms."""
    found = {"edit"} if f'href="/app/{entity}/{ident}/edit"' in html else set()
    for action in ("submit", "cancel", "amend", "delete"):
        if f'action="/app/{entity}/{ident}/{action}"' in html:
            found.add(action)
    return found


def page(client: SignedIn, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_a_role_that_may_only_read_is_offered_no_edit_or_delete(site, people, records):
    ident = claim_of(site, "ann", {"Employee"}, "Taxi")
    url = f"/app/expense_claim/{ident}"
    assert buttons(page(people["ann"], url), "expense_claim", ident) == {"edit", "delete"}
    as_lead = page(people["lee"], url)
    assert "Taxi" in as_lead
    assert buttons(as_lead, "expense_claim", ident) == set()

    # Forged without the buttons: the server refuses, nothing changes.
    lee = people["lee"]
    assert lee.post(f"{url}/edit", {"title": "Flight", "amount": "999.00",
                                     "version": "1"}).status_code == 403
    assert lee.post(f"{url}/delete", {"version": "1"}).status_code == 403
    assert records.get("expense_claim", ident)["title"] == "Taxi"


def test_row_rules_decide_per_record(site, people, records):
    """mia reads every claim (TeamLead) but may change only her own (Employee, own)."""
    hers = claim_of(site, "mia", {"Employee", "TeamLead"}, "Train")
    anns = claim_of(site, "ann", {"Employee"}, "Taxi")
    mia = people["mia"]
    assert buttons(page(mia, f"/app/expense_claim/{hers}"), "expense_claim", hers) == {
        "edit", "delete"}
    assert buttons(page(mia, f"/app/expense_claim/{anns}"), "expense_claim", anns) == set()
    assert mia.post(f"/app/expense_claim/{anns}/edit", {"title": "Flight", "amount": "9.00",
                                                        "version": "1"}).status_code == 403
    assert mia.post(f"/app/expense_claim/{anns}/delete", {"version": "1"}).status_code == 403
    assert records.get("expense_claim", anns)["title"] == "Taxi"
    # bob, another Employee, does not even see ann's claim: no page, no action.
    users.create_user(site, "bob", PASSWORD, roles=["Employee"])
    bob = SignedIn(mia.raw.application, "bob", PASSWORD)
    assert bob.get(f"/app/expense_claim/{anns}").status_code == 404
    assert bob.post(f"/app/expense_claim/{anns}/delete", {"version": "1"}).status_code == 404


def list_offers(html: str, entity: str) -> set[str]:
    found = set()
    if f'href="/app/{entity}/new"' in html:
        found.add("new")
    if f'href="/app/{entity}/import"' in html:
        found.add("import")
    if 'id="export-csv"' in html and 'id="export-xlsx"' in html:
        found.add("export")
    for action in ("delete", "submit"):
        if f'<option value="{action}">' in html:
            found.add(action)
    if 'name="ids"' in html:
        found.add("tick")
    return found


def test_the_list_offers_new_bulk_actions_import_and_export_by_permission(
        site, client, people, records):
    claim_of(site, "ann", {"Employee"}, "Taxi")
    claim_of(site, "mia", {"Employee", "TeamLead"}, "Train")
    url = "/app/expense_claim"
    assert list_offers(page(people["ann"], url), "expense_claim") == {"new", "delete", "tick"}
    assert list_offers(page(people["lee"], url), "expense_claim") == set()
    assert list_offers(page(people["fay"], url), "expense_claim") == {"export"}
    assert list_offers(page(client, url), "expense_claim") == {
        "new", "import", "export", "delete", "tick"}
    # the list's partial (filters, sort, next page) offers the same
    partial = people["lee"].get(url + "?q=T", headers={"HX-Request": "true",
                                                      "HX-Target": "list-results"})
    assert partial.status_code == 200 and list_offers(partial.get_data(as_text=True),
                                                      "expense_claim") == set()

    lee = people["lee"]
    assert lee.post(f"{url}/new", {"title": "Bus", "amount": "3.00"}).status_code == 403
    assert lee.get(f"{url}/export.csv").status_code == 403
    ids = [str(r["id"]) for r in records.list("expense_claim").rows]
    assert lee.post(f"{url}/bulk", {"action": "delete", "ids": ids}).status_code == 302
    assert len(records.list("expense_claim").rows) == 2


@pytest.fixture
def loan(records) -> dict[str, Any]:  # noqa: ANN001
    contact = records.create("contact", {"full_name": "Wu Lei"})
    item = records.create("item", {"code": "BK-9", "title": "SICP", "kind": "book"})
    return records.create("loan", {"contact": contact["id"],
                                   "lines": [{"item": item["id"], "qty": 1}]})


def test_documents_offer_submit_cancel_and_amend_only_to_roles_granted_them(
        client, people, records, loan):
    # The administrator lets Employees keep loans, but not submit or cancel them.
    granted = client.post("/admin/permissions/Employee/loan/access",
                          {"actions": ["read", "create", "write", "delete"]})
    assert granted.status_code == 302
    ann, ident = people["ann"], loan["id"]
    url = f"/app/loan/{ident}"
    assert buttons(page(ann, url), "loan", ident) == {"edit", "delete"}
    assert buttons(page(client, url), "loan", ident) == {"edit", "delete", "submit"}
    assert list_offers(page(ann, "/app/loan"), "loan") == {"new", "delete", "tick"}
    assert {"submit", "delete"} <= list_offers(page(client, "/app/loan"), "loan")
    assert ann.post(f"{url}/submit", {"version": str(loan["version"])}).status_code == 403
    assert records.get("loan", ident)["docstatus"] == "draft"

    records.submit("loan", ident)
    assert buttons(page(ann, url), "loan", ident) == set()
    assert buttons(page(client, url), "loan", ident) == {"cancel"}
    version = str(records.get("loan", ident)["version"])
    assert ann.post(f"{url}/cancel", {"version": version}).status_code == 403
    assert records.get("loan", ident)["docstatus"] == "submitted"

    records.cancel("loan", ident)
    assert buttons(page(ann, url), "loan", ident) == {"amend", "delete"}  # amend: create
    assert client.post("/admin/permissions/Employee/loan/access",
                       {"actions": ["read"]}).status_code == 302
    assert buttons(page(ann, url), "loan", ident) == set()
    assert ann.post(f"{url}/amend").status_code == 403


def test_a_workflow_that_submits_leaves_out_the_plain_submit(site, records, loan):
    """The page's offer follows the workflow as the guard does (unit level: the example
    packs have no submittable entity with such a workflow; tests/web_api has one)."""
    from yiti.web.ui.offers import record_actions

    recs = site.records()
    entity = site.model.entities["loan"]
    assert "submit" in record_actions(recs, entity, loan)
    assert "submit" not in record_actions(recs, entity, loan, frozenset({"submit"}))
    records.submit("loan", loan["id"])
    submitted = records.get("loan", loan["id"])
    assert record_actions(recs, entity, submitted) == {"cancel"}
    assert record_actions(recs, entity, submitted, frozenset({"cancel"})) == set()


def test_form_pages_open_only_for_roles_offered_their_button(site, client, people):
    """``/new``, ``/<id>/edit`` and ``/import`` opened by their address answer as the
    buttons are offered: 403 for a role without the permission, 404 for a record the
    role may not read (nothing of it shown), 200 for the role that may."""
    anns = claim_of(site, "ann", {"Employee"}, "Taxi")
    url = "/app/expense_claim"
    ann, lee, fay = people["ann"], people["lee"], people["fay"]
    assert ann.get(f"{url}/new").status_code == 200
    assert ann.get(f"{url}/{anns}/edit").status_code == 200
    assert ann.get(f"{url}/import").status_code == 403  # create, but not import
    assert client.get(f"{url}/import").status_code == 200
    for reader in (lee, fay):  # they read claims, nothing more
        assert reader.get(f"{url}/new").status_code == 403
        assert reader.get(f"{url}/import").status_code == 403
        refused = reader.get(f"{url}/{anns}/edit")
        assert refused.status_code == 403 and 'name="title"' not in refused.get_data(
            as_text=True)
    # mia may change her own claims only: ann's edit form is refused, hers opens
    mia = people["mia"]
    assert mia.get(f"{url}/{anns}/edit").status_code == 403
    hers = claim_of(site, "mia", {"Employee", "TeamLead"}, "Train")
    assert mia.get(f"{url}/{hers}/edit").status_code == 200
    # bob may not read ann's claim: "not found", and nothing of it leaks
    users.create_user(site, "bob", PASSWORD, roles=["Employee"])
    bob = SignedIn(ann.raw.application, "bob", PASSWORD)
    missing = bob.get(f"{url}/{anns}/edit")
    assert missing.status_code == 404 and "Taxi" not in missing.get_data(as_text=True)
    # an upload by a role that may not import is refused before the file is kept
    upload = lee.post(f"{url}/import", {"file": (io.BytesIO(b"title,amount\nBus,3\n"),
                                                 "claims.csv")},
                      content_type="multipart/form-data")
    assert upload.status_code == 403
    kept = site.settings.instance_path / "imports"
    assert not kept.exists() or not any(kept.iterdir())


def test_a_workflow_state_that_locks_every_field_offers_no_edit(site, people, records):
    """A submitted expense claim waits for its team lead in a state with ``editable: []``:
    its page offers no *Edit*, and the edit form's address answers 409 naming the state."""
    ann = people["ann"]
    ident = claim_of(site, "ann", {"Employee"}, "Taxi")
    url = f"/app/expense_claim/{ident}"
    assert "edit" in buttons(page(ann, url), "expense_claim", ident)
    users.set_attributes(site, "ann", {"manager": "lee"})
    site.workflows.act(Actor("ann", frozenset({"Employee"})), "expense_claim", ident,
                       "submit")
    assert records.get("expense_claim", ident)["state"] == "lead"
    assert "edit" not in buttons(page(ann, url), "expense_claim", ident)
    refused = ann.get(f"{url}/edit")
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "cannot be edited while it is Team lead approval" in html
    assert 'name="title"' not in html
    chinese = ann.get(f"{url}/edit", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 409
    assert "处于“主管审批”状态，不能编辑" in chinese.get_data(as_text=True)


def test_a_submitted_document_has_no_edit_form(client, records, loan):
    records.submit("loan", loan["id"])
    refused = client.get(f"/app/loan/{loan['id']}/edit")
    assert refused.status_code == 409
    assert "cannot be edited while it is Submitted" in refused.get_data(as_text=True)


def test_an_amendment_by_a_role_that_may_not_write_opens_its_page(client, people, records,
                                                                  loan):
    """Amend needs ``create``; the new draft's edit form needs ``write``. Without it the
    amendment opens on its record page, not on a refused form."""
    assert client.post("/admin/permissions/Employee/loan/access",
                       {"actions": ["read", "create"]}).status_code == 302
    records.submit("loan", loan["id"])
    records.cancel("loan", loan["id"])
    ann = people["ann"]
    assert buttons(page(ann, f"/app/loan/{loan['id']}"), "loan", loan["id"]) == {"amend"}
    done = ann.post(f"/app/loan/{loan['id']}/amend")
    assert done.status_code == 302
    amended = max(r["id"] for r in records.list("loan").rows)
    assert done.headers["Location"] == f"/app/loan/{amended}"
    assert ann.get(f"/app/loan/{amended}/edit").status_code == 403
