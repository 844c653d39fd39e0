"""The after-sales pack of the second outsider's report (packs/aftersales_outsider, cut
from theirs), over the REST API and the screens with real roles: each test pins one of
their findings (the number in its name)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import yiti.workflow  # noqa: F401 - registers the workflow kind and tables before the site
from yiti.errors import ValidationError
from yiti.jobs.notifications import for_user
from yiti.permissions import tokens, users
from yiti.site import Site
from yiti.testing import settings_for

PACKS = Path(__file__).parent / "packs"
PACK = "aftersales_outsider"
PEOPLE = {"ann": ("Service Agent", "SANLITUN"), "bob": ("Service Agent", "XIDAN"),
          "mia": ("Service Manager", None), "root": ("Administrator", None)}


@pytest.fixture(autouse=True)
def fresh_hooks() -> Iterator[None]:
    """Pack code is imported once per process (``yiti_packs.<pack>``)."""

    def forget() -> None:
        for name in [n for n in sys.modules if n == "yiti_packs." + PACK
                     or n.startswith(f"yiti_packs.{PACK}.")]:
            del sys.modules[name]

    forget()
    yield
    forget()


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = Site(settings_for(db_url, tmp_path, modules=[PACKS], packs=[PACK]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def people(site: Site) -> dict[str, dict[str, str]]:
    out = {}
    for name, (role, store) in PEOPLE.items():
        ident = users.create_user(site, name, f"{name}-password-1", roles=[role],
                                  attributes={"store": store} if store else None)
        token, _ = tokens.create_token(site, ident, ("*",))
        out[name] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.fixture
def shop(site: Site) -> dict[str, Any]:
    """Two stores and an order with two lines, as the commerce demo would have them."""
    records = site.records()
    stores = {code: records.create("store", {"code": code})["id"]
              for code in ("SANLITUN", "XIDAN")}
    order = records.create("sales_order", {"lines": [{"sku": "KETTLE", "amount": "974.45"},
                                                     {"sku": "CUP", "amount": "20.00"}]})
    return {"stores": stores, "order": order, "line": order["lines"][0]}


def request(shop: dict[str, Any], store: str = "SANLITUN", **values: Any) -> dict[str, Any]:
    return {"store": shop["stores"][store], "sales_order": shop["order"]["id"],
            "order_line": shop["line"]["id"], **values}


def test_4_a_hooks_invariant_counts_every_stores_rows_through_ctx_system(
        app: Flask, people: dict[str, dict[str, str]], shop: dict[str, Any]) -> None:
    """The refund total per order line held only within the user's store: the hook read
    through ctx.records, which the row rule narrows. With ctx.system it holds for all,
    and the refusal tells bob the total, not ann's request."""
    api = app.test_client()
    mine = api.post("/api/v1/service_request", headers=people["ann"],
                    json=request(shop, refund_amount="800.00"))
    assert mine.status_code == 201, mine.json
    assert api.get("/api/v1/service_request", headers=people["bob"]).json["data"] == []
    theirs = api.post("/api/v1/service_request", headers=people["bob"],
                      json=request(shop, "XIDAN", refund_amount="900.00"))
    assert theirs.status_code == 422, theirs.json
    assert theirs.json["errors"] == [{
        "field": "refund_amount", "code": "invalid",
        "message": "refunds on this line would come to 1700.00, more than its amount 974.45"}]
    within = api.post("/api/v1/service_request", headers=people["bob"],
                      json=request(shop, "XIDAN", refund_amount="174.45"))
    assert within.status_code == 201, within.json


@pytest.mark.parametrize("order, line", [
    ("id", "id"), ("{id}", "id"), ("id", "text"), ("{name}", "text")])
def test_5_before_validate_gets_every_link_as_its_id(
        app: Flask, people: dict[str, dict[str, str]], shop: dict[str, Any],
        order: str, line: str) -> None:
    """The hook reads the order the request links to: it got ``{"id": n}`` and "n" as
    given (so it copied nothing) while a ``{"name": ...}`` lookup was resolved. (The
    line is an integer field: a link cannot point at a line.)"""
    forms = {"id": lambda r: r["id"], "{id}": lambda r: {"id": r["id"]},
             "text": lambda r: str(r["id"]), "{name}": lambda r: {"name": r["name"]}}
    body = request(shop, sales_order=forms[order](shop["order"]),
                   order_line=forms[line](shop["line"]))
    made = app.test_client().post("/api/v1/service_request", headers=people["ann"], json=body)
    assert made.status_code == 201, made.json
    assert (made.json["sku"], made.json["line_amount"]) == ("KETTLE", "974.45")


def test_11_a_row_rule_refusal_says_its_meaning_and_what_the_new_values_would_be(
        app: Flask, people: dict[str, dict[str, str]], shop: dict[str, Any]) -> None:
    """Users were shown the permissions file and line; and a PUT that left out the store
    was refused as if the record were someone else's."""
    api = app.test_client()
    other = api.post("/api/v1/service_request", headers=people["ann"],
                     json=request(shop, "XIDAN"))
    assert other.status_code == 403
    assert other.json["detail"] == (
        "you may not create this Service request: role 'Service Agent' sees only records "
        "whose store.code is the user's store (its store.code would not be the user's store)")
    made = api.post("/api/v1/service_request", headers=people["ann"], json=request(shop)).json
    blanked = api.put(f"/api/v1/service_request/{made['id']}",
                      headers={**people["ann"], "If-Match": "*"},
                      json={"sales_order": shop["order"]["id"],
                            "order_line": shop["line"]["id"], "inspection_notes": "only this"})
    assert blanked.status_code == 403
    assert blanked.json["detail"] == (
        "you may not write this Service request with these values: role 'Service Agent' "
        "sees only records whose store.code is the user's store (store would be empty)")
    explained = api.get("/api/v1/_admin/explain?user=bob&entity=service_request&action=write"
                        f"&id={made['id']}", headers=people["root"]).json
    assert explained["source"].endswith("permissions/aftersales.yaml:12")  # for the admin


def test_22_explain_reports_the_workflow_lock_of_the_records_state(
        app: Flask, people: dict[str, dict[str, str]], shop: dict[str, Any]) -> None:
    api = app.test_client()
    made = api.post("/api/v1/service_request", headers=people["ann"], json=request(shop)).json
    url = f"/api/v1/service_request/{made['id']}"
    explain = ("/api/v1/_admin/explain?user=ann&entity=service_request&action=write"
               f"&id={made['id']}")
    fresh = api.get(explain, headers=people["root"]).json
    assert fresh["allowed"] is True and fresh["workflow_lock"] is None
    assert api.post(f"{url}/actions/inspect", headers=people["ann"], json={}).status_code == 200
    inspecting = api.get(explain, headers=people["root"]).json
    assert inspecting["allowed"] is True
    assert inspecting["workflow_lock"]["state"] == "inspecting"
    assert "store" in inspecting["workflow_lock"]["locked"]
    assert "refund_amount" not in inspecting["workflow_lock"]["locked"]
    assert api.post(f"{url}/actions/close", headers=people["mia"], json={}).status_code == 200
    closed = api.get(explain, headers=people["root"]).json
    assert closed["allowed"] is False and closed["source"] == "workflow"
    assert "is Closed, where its workflow locks every field" in closed["rule"]
    refused = api.patch(url, headers={**people["ann"], "If-Match": "*"},
                        json={"inspection_notes": "late"})
    assert refused.json["errors"][0]["code"] == "workflow_locked"  # what explain foretold
    page = signed_in(app, "root").get("/admin/explain?user=ann&entity=service_request"
                                      f"&action=write&id={made['id']}")
    assert "where its workflow locks every field" in page.get_data(as_text=True)


def test_6_and_17_a_job_escalates_through_a_transition_that_stays_and_tells_the_managers(
        site: Site, app: Flask, people: dict[str, dict[str, str]], shop: dict[str, Any]
        ) -> None:
    """A job may not write a locked field either (the lock is the workflow's, not a
    permission); its way is an action taken by the system. The outsider's transition to
    the same state re-ran on_enter (a second 'waits for your approval') and reopened the
    approval task; staying now does neither. The job tells every Service Manager."""
    api = app.test_client()
    made = api.post("/api/v1/service_request", headers=people["ann"], json=request(shop)).json
    api.post(f"/api/v1/service_request/{made['id']}/actions/inspect", headers=people["ann"],
             json={})
    with pytest.raises(ValidationError) as locked:
        site.records().update("service_request", made["id"], {"priority": "urgent"})
    assert locked.value.problems[0].code == "workflow_locked"
    tasks = site.workflows.open_tasks(site.workflows.by_entity["service_request"], made["id"],
                                      "inspecting")
    before = for_user(site, "mia")
    assert len(before) == 1 and len(tasks) == 1

    site.jobs.enqueue("aftersales_outsider.escalate", {})
    site.jobs.drain()

    record = site.records().get("service_request", made["id"])
    assert (record["escalated"], record["priority"], record["status"]) == (
        True, "urgent", "inspecting")
    after = site.workflows.open_tasks(site.workflows.by_entity["service_request"], made["id"],
                                      "inspecting")
    assert [(t["id"], t["created_at"]) for t in after] == [
        (t["id"], t["created_at"]) for t in tasks]
    news = [n["subject"] for n in for_user(site, "mia")[: len(for_user(site, "mia"))
                                                       - len(before)]]
    assert news == ["1 request(s) escalated"]


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"name": name, "password": f"{name}-password-1",
                                                "csrf_token": token, "next": "/app/"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_18_an_empty_text_box_is_stored_as_null_like_a_field_the_api_left_out(
        site: Site, app: Flask, people: dict[str, dict[str, str]], shop: dict[str, Any]
        ) -> None:
    """The form stored "" and `filter=inspection_notes:null` missed it; a form also sends
    every link as text, which the before_validate hook now gets as an id (finding 5)."""
    ann = signed_in(app, "ann")
    page = ann.get("/app/service_request/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    saved = ann.post("/app/service_request/new", data={
        "csrf_token": token, "store": str(shop["stores"]["SANLITUN"]),
        "sales_order": str(shop["order"]["id"]), "order_line": str(shop["line"]["id"]),
        "refund_amount": "", "priority": "normal", "inspection_notes": "  "})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    [row] = site.records().list("service_request").rows
    assert (row["inspection_notes"], row["sku"], row["line_amount"]) == (
        None, "KETTLE", Decimal("974.45"))
    found = app.test_client().get("/api/v1/service_request?filter=inspection_notes:null",
                                  headers=people["ann"]).json["data"]
    assert [r["id"] for r in found] == [row["id"]]
