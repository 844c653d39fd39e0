"""Every approval pattern end to end through the REST API, as the people who take part."""

from __future__ import annotations

from yiti.site import Site

from .conftest import Api


def claim(api: Api, who: str, amount: str, title: str = "Taxi") -> dict:
    response = api(who).post("/api/v1/expense_claim", json={"title": title, "amount": amount})
    assert response.status_code == 201, response.json
    return response.json


def waiting(api: Api, who: str) -> list[tuple[str, int, str]]:
    body = api(who).get("/api/v1/approvals").json
    return [(i["entity"], i["id"], i["state"]) for i in body["data"]]


def test_multi_level_by_amount(api: Api, site: Site):
    small, medium, large = (claim(api, "ann", a) for a in ("1200.00", "20000", "80000"))
    for c in (small, medium, large):
        assert c["state"] == "draft"
        assert api("ann").act("expense_claim", c["id"], "submit").json["state"] == "lead"
    assert {i[1] for i in waiting(api, "leo")} == {small["id"], medium["id"], large["id"]}
    assert api("leo").get("/api/v1/approvals/count").json == {"count": 3}
    assert waiting(api, "fay") == []

    done = api("leo").act("expense_claim", small["id"], "approve").json
    assert done["state"] == "approved" and done["approved_at"]  # under 5,000: the lead alone
    assert api("leo").act("expense_claim", medium["id"], "approve").json["state"] == "finance"
    assert api("leo").act("expense_claim", large["id"], "approve").json["state"] == "finance"
    assert {i[1] for i in waiting(api, "fay")} == {medium["id"], large["id"]}
    assert api("fay").act("expense_claim", medium["id"], "approve").json["state"] == "approved"
    assert api("fay").act("expense_claim", large["id"], "approve").json["state"] == "general"
    assert waiting(api, "gus") == [("expense_claim", large["id"], "general")]
    assert api("gus").act("expense_claim", large["id"], "approve").json["state"] == "approved"

    flow = api("ann").get(f"/api/v1/expense_claim/{large['id']}/workflow").json
    assert [(h["action"], h["from_state"], h["to_state"], h["user"]) for h in flow["history"]] == [
        ("submit", "draft", "lead", "ann"), ("approve", "lead", "finance", "leo"),
        ("approve", "finance", "general", "fay"), ("approve", "general", "approved", "gus")]
    assert flow["history"][-1]["snapshot"]["amount"] == "80000.00"  # what gus approved
    audit = api("ann").get(f"/api/v1/expense_claim/{large['id']}/history").json["data"]
    assert [a["action"] for a in audit] == ["create", "submit", "approve", "approve", "approve"]


def test_single_approver_resolved_from_a_link_path(api: Api, site: Site):
    import sys

    site.records().create("budget", {"code": "IT", "owner": "dan"})
    pr = api("ann").post("/api/v1/purchase", json={"title": "Laptops", "amount": "9000",
                                                   "budget": {"code": "IT"}}).json
    api("ann").act("purchase", pr["id"], "submit")
    assert waiting(api, "dan") == [("purchase", pr["id"], "review")]
    assert waiting(api, "leo") == []  # a TeamLead too, but not this budget's owner
    refused = api("leo").act("purchase", pr["id"], "approve")
    assert refused.status_code == 403 and "waits for dan" in refused.json["detail"]
    done = api("dan").act("purchase", pr["id"], "approve").json
    assert done["state"] == "approved" and done["approved_by"] == "dan"
    calls = sys.modules["yiti_packs.wfpack.hooks"].CALLS
    assert (pr["name"], "dan") in calls
    from yiti.jobs.notifications import for_user
    assert [n["subject"] for n in for_user(site, "dan")] == [
        f"Purchase request {pr['name']} waits for your approval"]
    assert any("approved" in n["subject"].lower() for n in for_user(site, "ann"))


def test_countersign_all_and_any(api: Api):
    c = api("ann").post("/api/v1/contract", json={"title": "Lease"}).json
    api("ann").act("contract", c["id"], "submit")
    first = api("lex").act("contract", c["id"], "approve").json
    assert first["state"] == "countersign"  # finance has not signed yet
    again = api("lex").act("contract", c["id"], "approve")
    assert again.status_code == 403  # lex's part is done
    assert waiting(api, "lex") == [] and len(waiting(api, "fay")) == 1
    assert api("fay").act("contract", c["id"], "approve").json["state"] == "approved"

    c2 = api("ann").post("/api/v1/contract", json={"title": "Loan"}).json
    api("ann").act("contract", c2["id"], "submit")
    api("lex").act("contract", c2["id"], "approve")
    assert api("fay").act("contract", c2["id"], "reject").status_code == 422  # no reason
    back = api("fay").act("contract", c2["id"], "reject", comment="Wrong rate").json
    assert back["state"] == "draft"

    q = api("ann").post("/api/v1/quote", json={"title": "Paper"}).json
    api("ann").act("quote", q["id"], "submit")
    assert len(waiting(api, "leo")) == 1 and len(waiting(api, "fay")) == 1
    assert api("fay").act("quote", q["id"], "approve").json["state"] == "approved"
    late = api("leo").act("quote", q["id"], "approve")
    assert late.status_code == 409 and "approve" in late.json["detail"]
    assert waiting(api, "leo") == []


def test_delegation_while_away(api: Api):
    c = claim(api, "ann", "300")
    api("ann").act("expense_claim", c["id"], "submit")
    assert waiting(api, "dan") == []
    made = api("leo").post("/api/v1/approvals/delegations",
                           json={"to_user": "dan", "starts": "2025-12-30", "ends": "2026-01-10",
                                 "reason": "holiday"})
    assert made.status_code == 201, made.json
    items = api("dan").get("/api/v1/approvals").json["data"]
    assert [(i["id"], i["on_behalf_of"]) for i in items] == [(c["id"], "leo")]
    assert api("dan").act("expense_claim", c["id"], "approve").json["state"] == "approved"
    history = api("ann").get(f"/api/v1/expense_claim/{c['id']}/workflow").json["history"]
    assert (history[-1]["user"], history[-1]["on_behalf_of"]) == ("dan", "leo")


def test_reject_to_requester_and_send_back_to_an_earlier_step(api: Api):
    c = claim(api, "ann", "20000")
    api("ann").act("expense_claim", c["id"], "submit")
    no_reason = api("leo").act("expense_claim", c["id"], "reject")
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "comment"
    back = api("leo").act("expense_claim", c["id"], "reject", comment="Receipt missing").json
    assert back["state"] == "draft"
    assert waiting(api, "leo") == []

    api("ann").act("expense_claim", c["id"], "submit")
    api("leo").act("expense_claim", c["id"], "approve")
    choose = api("fay").act("expense_claim", c["id"], "send_back", comment="Ask the lead")
    assert choose.status_code == 422 and "lead" in choose.json["detail"]
    sent = api("fay").act("expense_claim", c["id"], "send_back", comment="Ask the lead",
                          to="lead").json
    assert sent["state"] == "lead"
    assert waiting(api, "leo") == [("expense_claim", c["id"], "lead")]
    assert api("leo").act("expense_claim", c["id"], "approve").json["state"] == "finance"


def test_resubmission_keeps_approvals_unless_a_watched_field_changes(api: Api):
    c = claim(api, "ann", "20000")
    api("ann").act("expense_claim", c["id"], "submit")
    api("leo").act("expense_claim", c["id"], "approve")
    api("fay").act("expense_claim", c["id"], "reject", comment="Which project?")
    edited = api("ann").patch(f"/api/v1/expense_claim/{c['id']}",
                              json={"title": "Taxi, project X"},
                              headers={"If-Match": '"v4"'})
    assert edited.status_code == 200, edited.json
    resubmitted = api("ann").act("expense_claim", c["id"], "submit").json
    assert resubmitted["state"] == "finance"  # the lead's approval still counts
    assert waiting(api, "leo") == [] and len(waiting(api, "fay")) == 1
    api("fay").act("expense_claim", c["id"], "reject", comment="Too much")
    version = api("ann").get(f"/api/v1/expense_claim/{c['id']}").json["version"]
    changed = api("ann").patch(f"/api/v1/expense_claim/{c['id']}", json={"amount": "18000"},
                               headers={"If-Match": f'"v{version}"'})
    assert changed.status_code == 200, changed.json
    assert api("ann").act("expense_claim", c["id"], "submit").json["state"] == "lead"
    assert waiting(api, "leo") == [("expense_claim", c["id"], "lead")]


def test_escalation_after_the_time_limit(api: Api, site: Site, clock):
    c = claim(api, "ann", "20000")
    api("ann").act("expense_claim", c["id"], "submit")
    clock.advance(hours=47)
    site.jobs.drain()
    assert api("ann").get(f"/api/v1/expense_claim/{c['id']}").json["state"] == "lead"
    clock.advance(hours=2)
    site.jobs.drain()
    now = api("ann").get(f"/api/v1/expense_claim/{c['id']}").json
    assert now["state"] == "finance"
    history = api("ann").get(f"/api/v1/expense_claim/{c['id']}/workflow").json["history"]
    assert (history[-1]["action"], history[-1]["user"]) == ("escalate", "system")
    assert "2d" in history[-1]["comment"]
    assert waiting(api, "leo") == [] and len(waiting(api, "fay")) == 1
