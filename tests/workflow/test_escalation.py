"""Escalation on a controllable clock (the jobs' FakeClock): a step decided in time is left
alone, a step entered again waits its full limit again, and the sweep escalates what is
overdue once (the expense claim's lead step: 2 days, then on to finance)."""

from __future__ import annotations

from yiti.site import Site
from yiti.workflow.escalation import escalate_due

from .conftest import Api


def claim(api: Api, amount: str = "300") -> dict:
    made = api("ann").post("/api/v1/expense_claim", json={"title": "Taxi", "amount": amount})
    assert made.status_code == 201, made.json
    assert api("ann").act("expense_claim", made.json["id"], "submit").status_code == 200
    return made.json


def actions(api: Api, ident: int) -> list[tuple[str, str]]:
    flow = api("ann").get(f"/api/v1/expense_claim/{ident}/workflow").json
    return [(h["action"], h["user"]) for h in flow["history"]]


def state(api: Api, ident: int) -> str:
    return api("ann").get(f"/api/v1/expense_claim/{ident}").json["state"]


def test_a_step_decided_in_time_is_not_escalated(api: Api, site: Site, clock):
    c = claim(api)
    clock.advance(hours=47)
    assert api("leo").act("expense_claim", c["id"], "approve").json["state"] == "approved"
    clock.advance(hours=2)
    site.jobs.drain()
    assert state(api, c["id"]) == "approved"
    assert actions(api, c["id"]) == [("submit", "ann"), ("approve", "leo")]


def test_a_step_entered_again_waits_its_full_limit_again(api: Api, site: Site, clock):
    c = claim(api)
    clock.advance(hours=10)
    api("leo").act("expense_claim", c["id"], "reject", comment="Receipt?")
    clock.advance(hours=30)  # resubmitted at 40 h: due at 88 h
    version = api("ann").get(f"/api/v1/expense_claim/{c['id']}").json["version"]
    api("ann").patch(f"/api/v1/expense_claim/{c['id']}", json={"amount": "310"},
                     headers={"If-Match": f'"v{version}"'})
    assert api("ann").act("expense_claim", c["id"], "submit").json["state"] == "lead"
    clock.advance(hours=9)  # 49 h: the first entry's job is due, and finds a newer step
    site.jobs.drain()
    assert state(api, c["id"]) == "lead"
    clock.advance(hours=40)  # 89 h
    site.jobs.drain()
    assert state(api, c["id"]) == "finance"
    assert actions(api, c["id"])[-1] == ("escalate", "system")
    assert api("fay").get("/api/v1/approvals/count").json == {"count": 1}
    assert api("leo").get("/api/v1/approvals/count").json == {"count": 0}


def test_the_sweep_escalates_what_is_overdue_once(api: Api, site: Site, clock):
    late = claim(api)
    clock.advance(hours=30)
    fresh = claim(api)
    clock.advance(hours=19)  # 49 h after the first, 19 h after the second
    assert escalate_due(site) == 1
    assert (state(api, late["id"]), state(api, fresh["id"])) == ("finance", "lead")
    assert escalate_due(site) == 0
    site.jobs.drain()  # the queued job of the first finds it done
    assert [a for a, _ in actions(api, late["id"])].count("escalate") == 1
    assert state(api, fresh["id"]) == "lead"
