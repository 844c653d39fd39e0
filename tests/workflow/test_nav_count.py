""""My approvals" with its count in the navigation of every staff page, the same number
as the inbox and the API, also for a stand-in who may not read what waits."""

from __future__ import annotations

import re

from flask import Flask

from yiti.site import Site
from yiti.workflow import Workflows

from .conftest import Api, actor
from .test_delegations import signed_in

PAGES = ["/app/", "/app/expense_claim", "/app/expense_claim/new", "/app/expense_claim/{id}",
         "/app/expense_claim/{id}/edit", "/workflow/inbox", "/workflow/delegations",
         "/workflow/expense_claim/{id}", "/reports", "/notifications/"]
#: Pages leo's role (TeamLead: read only) may not open: the refusal page has the count too.
REFUSED = {"/app/expense_claim/new", "/app/expense_claim/{id}/edit"}


def nav_count(html: str) -> int | None:
    found = re.search(r'id="yiti-approvals"[^>]*data-pending="(\d+)"', html)
    return int(found.group(1)) if found else None


def submitted(site: Site, engine: Workflows, title: str, amount: str) -> dict:
    ann = actor(site, "ann")
    claim = site.records(ann).create("expense_claim", {"title": title, "amount": amount})
    return engine.act(ann, "expense_claim", claim["id"], "submit")


def test_every_page_shows_the_count_the_api_gives(app: Flask, api: Api, site: Site,
                                                  engine: Workflows):
    first = submitted(site, engine, "Taxi", "80")
    submitted(site, engine, "Hotel", "300")
    client, _ = signed_in(app, "leo")
    assert api("leo").get("/api/v1/approvals/count").json == {"count": 2}
    assert api("leo").get("/api/v1/approvals").json["count"] == 2
    for url in PAGES:
        page = client.get(url.format(id=first["id"]))
        assert page.status_code == (403 if url in REFUSED else 200), url
        html = page.get_data(as_text=True)
        assert nav_count(html) == 2, url
        assert re.search(r'My approvals <span class="badge[^"]*">2</span>', html), url
    inbox = client.get("/workflow/inbox").get_data(as_text=True)
    assert 'id="inbox-count">2<' in inbox
    assert nav_count(client.get("/workflow/count").get_data(as_text=True)) == 2  # htmx

    engine.act(actor(site, "leo"), "expense_claim", first["id"], "approve")
    assert api("leo").get("/api/v1/approvals/count").json == {"count": 1}
    assert nav_count(client.get("/app/").get_data(as_text=True)) == 1
    # nothing waits for ann: the link, without a badge (her role may create claims)
    ann, _ = signed_in(app, "ann")
    html = ann.get("/app/").get_data(as_text=True)
    assert nav_count(html) == 0 and "My approvals</a>" in html
    page = ann.get("/app/expense_claim/new")
    assert page.status_code == 200 and nav_count(page.get_data(as_text=True)) == 0


def test_a_stand_in_counts_only_what_they_may_read(app: Flask, api: Api, site: Site,
                                                   engine: Workflows):
    claim = submitted(site, engine, "Flights", "20000")
    engine.act(actor(site, "leo"), "expense_claim", claim["id"], "approve")  # → finance
    made = api("fay").post("/api/v1/approvals/delegations",
                           json={"to_user": "lex", "starts": "2026-01-01",
                                 "ends": "2026-01-02"})
    assert made.status_code == 201, made.json
    # lex (Legal) stands in for fay but may not read expense claims: nothing to count
    assert api("lex").get("/api/v1/approvals").json == {"data": [], "count": 0}
    assert api("lex").get("/api/v1/approvals/count").json == {"count": 0}
    # a contract waiting for fay's role is one lex may read: counted and listed
    c = api("ann").post("/api/v1/contract", json={"title": "Lease"}).json
    api("ann").act("contract", c["id"], "submit")
    api("lex").act("contract", c["id"], "approve")  # lex's own slot (Legal)
    listed = api("lex").get("/api/v1/approvals").json
    assert [(i["entity"], i["on_behalf_of"]) for i in listed["data"]] == [("contract", "fay")]
    assert listed["count"] == 1 == api("lex").get("/api/v1/approvals/count").json["count"]
