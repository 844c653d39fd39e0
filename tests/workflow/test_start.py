"""A record created in a workflow enters its initial state as any transition enters a state:
the state's on_enter steps run in the create's transaction (values audited with the
create), its approval tasks open, a hook that raises undoes the create (wfpack leave)."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal

import pytest

from yiti.errors import Conflict
from yiti.jobs.notifications import for_user
from yiti.permissions.policy import SYSTEM
from yiti.site import Site

from .conftest import Api


def test_initial_on_enter_runs_on_create(api: Api, site: Site, clock):
    made = api("ann").post("/api/v1/leave", json={"title": "Trip", "days": "3"})
    assert made.status_code == 201, made.json
    leave = made.json
    # set and script steps: saved with the create
    assert leave["state"] == "requested" and leave["employee"] == "ann"
    assert dt.datetime.fromisoformat(leave["requested_at"]) == clock.now()  # the engine's clock
    assert leave["code"] == "L-ann-3.0" and leave["version"] == 1
    # audited: the create's audit row carries what the steps set
    (audit,) = api("ann").get(f"/api/v1/leave/{leave['id']}/history").json["data"]
    assert audit["action"] == "create"
    assert {"employee", "requested_at", "code"} <= set(audit["changes"])
    # the hook ran after the write, as the creator, told it was the create
    seen = sys.modules["yiti_packs.wfpack.hooks.leaves"].REQUESTED[-1]
    assert (seen["name"], seen["user"]) == (leave["name"], "ann")
    assert (seen["transition"]["action"], seen["transition"]["to"]) == ("create", "requested")
    # the initial state is an approval step: the manager's task is open, and he was told
    inbox = api("leo").get("/api/v1/approvals").json["data"]
    assert [(i["entity"], i["id"], i["state"]) for i in inbox] == [
        ("leave", leave["id"], "requested")]
    assert [n["subject"] for n in for_user(site, "leo")] == [
        f"Leave request {leave['name']} waits for your approval"]
    assert api("dan").get("/api/v1/approvals/count").json == {"count": 0}


def test_a_hook_that_raises_undoes_the_create(api: Api, site: Site):
    refused = api("ann").post("/api/v1/leave", json={"title": "refuse me", "days": "1"})
    assert refused.status_code == 422, refused.json
    assert "leave_requested hook refuses" in refused.json["detail"]
    assert site.records().list("leave").rows == []
    assert api("leo").get("/api/v1/approvals/count").json == {"count": 0}
    assert for_user(site, "leo") == []


def test_invalid_input_is_reported_by_the_create_not_the_steps(api: Api):
    bad = api("ann").post("/api/v1/leave", json={"title": "Trip", "days": "many"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json["errors"]] == ["days"]


def test_the_system_importing_a_record_in_a_later_state_runs_no_steps(site: Site):
    records = site.records(SYSTEM)
    old = records.create("leave", {"title": "Last year", "days": Decimal("2"),
                                   "state": "approved"})
    assert old["state"] == "approved" and old["code"] is None and old["employee"] is None
    # a new one enters the approval step, which needs the requester's manager
    with pytest.raises(Conflict, match="manager of the requester"):
        records.create("leave", {"title": "Now", "days": Decimal("2")})
    assert [r["title"] for r in records.list("leave").rows] == ["Last year"]


def test_a_record_created_through_an_action(site: Site, clock, people):
    """``engine.create``: one insert in the state the action enters, the steps of the
    states passed (the open state's before_write hook, send's set and inputs, the sent
    state's set and hook), and a history that starts with the action."""
    from yiti import api
    from yiti.errors import Forbidden, NotFound, ValidationError

    from .conftest import actor

    ann = site.records(actor(site, "ann"))
    with pytest.raises(ValidationError) as missing:
        api.create_with_action(ann, "parcel", {"title": "box"}, "send",
                               inputs={"courier": "ups"})
    assert [p.field for p in missing.value.problems] == ["courier", "tracking"]
    with pytest.raises(Conflict, match="'receive' is not possible there"):
        api.create_with_action(ann, "parcel", {"title": "box"}, "receive")
    with pytest.raises(NotFound, match="no action 'sned'"):
        api.create_with_action(ann, "parcel", {"title": "box"}, "sned")
    with pytest.raises(Forbidden):  # only the system names someone it acts for
        api.create_with_action(ann, "parcel", {"title": "box"}, "send", behalf="bob",
                               inputs={"courier": "sf", "tracking": "SF1"})
    assert site.records().list("parcel").rows == []
    sent = api.create_with_action(ann, "parcel", {"title": " box"}, "send",
                                  inputs={"courier": "jd", "tracking": "JD1"})
    assert (sent["state"], sent["title"], sent["courier"], sent["tracking"]) == (
        "sent", "Box", "jd", "JD1")
    assert sent["sent_at"] == clock.now() and sent["label_printed"] is True  # its hook wrote
    seen = sys.modules["yiti_packs.wfpack.hooks.parcels"].SEEN[-1]
    assert (seen["action"], seen["from"], seen["to"], seen["inputs"]) == (
        "send", "open", "sent", {"courier": "jd", "tracking": "JD1", "weight": None,
                                 "claim": None})
    (entry,) = site.workflows.history(SYSTEM, "parcel", sent["id"])
    assert (entry["action"], entry["from_state"], entry["to_state"], entry["user"],
            entry["on_behalf_of"], entry["version"]) == ("send", "open", "sent", "ann", None, 1)
    assert entry["snapshot"]["state"] == "open"
    # the system, for a user it has checked
    placed = api.create_with_action(site.records(SYSTEM), "parcel", {"title": "crate"}, "send",
                                    inputs={"courier": "sf", "tracking": "SF2"}, behalf="ann")
    (entry,) = site.workflows.history(SYSTEM, "parcel", placed["id"])
    assert (entry["user"], entry["on_behalf_of"]) == ("system", "ann")
