"""A transition whose state runs an analysts' server script (wfpack leave: approving books
the days against the employee's allowance): the script's writes and the fields it sets land
in the transition's transaction; a script that throws refuses the transition and nothing
changes; a later step that fails undoes what the script wrote."""

from __future__ import annotations

from decimal import Decimal

from yiti.site import Site

from .conftest import Api


def request_leave(api: Api, days: str, title: str = "Trip") -> dict:
    made = api("ann").post("/api/v1/leave", json={"title": title, "days": days})
    assert made.status_code == 201, made.json
    return made.json


def allowance(site: Site, user: str) -> Decimal:
    return site.records().get("allowance", user)["days"]


def unchanged(api: Api, site: Site, leave: dict) -> None:
    """Nothing moved: state, version, history, the open task, the allowance."""
    now = api("ann").get(f"/api/v1/leave/{leave['id']}").json
    assert (now["state"], now["version"], now["days_left"]) == ("requested", 1, None)
    flow = api("ann").get(f"/api/v1/leave/{leave['id']}/workflow").json
    assert flow["history"] == [] and [w["assignee"] for w in flow["waiting_for"]] == ["leo"]
    audit = api("ann").get(f"/api/v1/leave/{leave['id']}/history").json["data"]
    assert [a["action"] for a in audit] == ["create"]


def test_the_script_books_the_days_in_the_transition(api: Api, site: Site):
    site.records().create("allowance", {"user": "ann", "days": "5"})
    leave = request_leave(api, "3")
    done = api("leo").act("leave", leave["id"], "approve")
    assert done.status_code == 200, done.json
    assert (done.json["state"], done.json["days_left"]) == ("approved", "2.0")
    assert allowance(site, "ann") == Decimal("2.0")  # written by the script, as leo
    audit = site.records().history("allowance", "ann")
    assert [(a["action"], a["user"]) for a in audit] == [("create", "system"),
                                                        ("update", "leo")]
    leave_audit = api("ann").get(f"/api/v1/leave/{leave['id']}/history").json["data"]
    assert leave_audit[-1]["action"] == "approve" and "days_left" in leave_audit[-1]["changes"]


def test_a_script_that_throws_refuses_the_transition(api: Api, site: Site):
    site.records().create("allowance", {"user": "ann", "days": "2"})
    leave = request_leave(api, "3")
    refused = api("leo").act("leave", leave["id"], "approve")
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"][0]["field"] == "days"
    assert "only 2.0 days left" in refused.json["errors"][0]["message"]
    unchanged(api, site, leave)
    assert allowance(site, "ann") == Decimal("2.0")
    assert api("leo").get("/api/v1/approvals/count").json == {"count": 1}


def test_a_step_failing_after_the_script_undoes_the_script(api: Api, site: Site):
    site.records().create("allowance", {"user": "ann", "days": "5"})
    leave = request_leave(api, "3", title="boom")
    refused = api("leo").act("leave", leave["id"], "approve")
    assert refused.status_code == 422 and "leave_approved hook" in refused.json["detail"]
    unchanged(api, site, leave)
    assert allowance(site, "ann") == Decimal("5.0")  # the script's update rolled back
    assert [a["action"] for a in site.records().history("allowance", "ann")] == ["create"]
