"""Transition inputs, hooks in a module of a hooks package that write their record, actions
only the system takes, and backdated actions (the wfpack parcel workflow)."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from yiti.errors import Forbidden
from yiti.permissions.policy import SYSTEM
from yiti.site import Site
from yiti.workflow import Workflows

from .conftest import Api, actor
from .test_check import problems


def parcel(api: Api) -> dict:
    response = api("ann").post("/api/v1/parcel", json={"title": " samples"})
    assert response.status_code == 201, response.json
    assert response.json["title"] == "Samples"  # the open state's before_write hook
    return response.json


def test_inputs_are_required_parsed_and_reach_formulas_and_hooks(api: Api):
    p = parcel(api)
    missing = api("ann").act("parcel", p["id"], "send")
    assert missing.status_code == 422
    assert {(e["field"], e["code"]) for e in missing.json["errors"]} == {
        ("courier", "required"), ("tracking", "required")}
    assert "required to Send: give Courier" in missing.json["errors"][0]["message"]  # labels
    wrong = api("ann").act("parcel", p["id"], "send", courier="ups", tracking="1234567890123",
                           weight="heavy", courrier="sf")
    assert wrong.status_code == 422
    found = {e["field"]: e["message"] for e in wrong.json["errors"]}
    assert "'ups' is not an option" in found["courier"]
    assert "longer than 12" in found["tracking"]
    assert "number" in found["weight"]
    assert "did you mean 'courier'" in found["courrier"]
    assert api("ann").get(f"/api/v1/parcel/{p['id']}").json["state"] == "open"  # nothing moved

    sent = api("ann").act("parcel", p["id"], "send", courier="jd", tracking="JD0001",
                          weight="1.250", comment="fragile")
    assert sent.status_code == 200, sent.json
    body = sent.json
    assert (body["state"], body["courier"], body["tracking"]) == ("sent", "jd", "JD0001")
    assert body["sent_at"] is not None
    # the hook wrote the record in a locked state, and the answer is the record after it
    assert body["label_printed"] is True and body["version"] == p["version"] + 2
    seen = sys.modules["yiti_packs.wfpack.hooks.parcels"].SEEN[-1]
    assert seen["inputs"] == {"courier": "jd", "tracking": "JD0001",
                              "weight": Decimal("1.250"), "claim": None}
    assert (seen["action"], seen["from"], seen["to"], seen["user"], seen["comment"]) == (
        "send", "open", "sent", "ann", "fragile")
    locked = api("ann").patch(f"/api/v1/parcel/{p['id']}", json={"label_printed": False},
                              headers={"If-Match": f'"{body["version"]}"'})
    assert locked.status_code == 422  # outside a transition the state still locks it


def test_the_page_and_panel_offer_input_boxes(api: Api):
    p = parcel(api)
    panel = api("ann").get(f"/api/v1/parcel/{p['id']}/workflow").json
    (send,) = panel["actions"]
    assert [(i["name"], i["type"], i["required"]) for i in send["inputs"]] == [
        ("courier", "select", True), ("tracking", "string", True), ("weight", "decimal", False),
        ("claim", "link", False)]
    assert send["inputs"][3]["entity"] == "expense_claim"
    assert send["inputs"][0]["options"] == [{"value": "sf", "label": "sf"},
                                            {"value": "jd", "label": "JD"}]


def test_system_only_actions_and_backdating(api: Api, site: Site, engine: Workflows):
    p = parcel(api)
    api("ann").act("parcel", p["id"], "send", courier="sf", tracking="SF1")
    panel = api("ann").get(f"/api/v1/parcel/{p['id']}/workflow").json
    assert panel["actions"] == []  # receive is the system's: no button
    refused = api("ann").act("parcel", p["id"], "receive")
    assert refused.status_code == 403
    with pytest.raises(Forbidden, match="only the system"):
        engine.act(actor(site, "ann"), "parcel", p["id"], "receive",
                   at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    when = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC)
    before = engine.site.records().get("parcel", p["id"])
    done = engine.act(SYSTEM, "parcel", p["id"], "receive", at=when)
    assert done["state"] == "received" and done["received_at"] == when
    # a before_write hook's fields are saved with the transition: one write
    assert done["title"] == "Samples (received 2026-01-02)"
    assert done["version"] == before["version"] + 1
    history = engine.history(SYSTEM, "parcel", p["id"])
    assert [(h["action"], h["from_state"], h["to_state"], h["user"]) for h in history] == [
        ("send", "open", "sent", "ann"), ("receive", "sent", "received", "system")]
    assert history[-1]["at"].replace(tzinfo=dt.UTC) == when


def test_check_refuses_bad_inputs_and_a_system_approver(tmp_path: Path):
    found = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  review: {approvers: [system]}
  done: {final: true}
transitions:
  - action: send
    from: draft
    to: review
    inputs:
      comment: {type: string}
      kind: {type: select}
  - {action: close, from: review, to: done, by: [system], set: {title: "inputs.kind"}}
""")
    text = "\n".join(found)
    assert "ticket.yaml:5: states.review.approvers[0]: the system is no approver" in text
    assert "transitions[0].inputs.comment: 'comment' is a word of the action request" in text
    assert "transitions[0].inputs.kind.type: a select input needs options" in text
    assert not any("transitions[1]" in p for p in found)  # `inputs` is a formula's name


def test_an_input_like_a_field_takes_its_type_and_options(tmp_path: Path):
    """``like: entity.field``: the options are the field's; a ``like`` naming no field an
    input can copy is reported at its line."""
    good = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  done: {final: true}
transitions:
  - action: close
    from: draft
    to: done
    inputs:
      outcome: {like: ticket.state, required: true}
      note: {like: ticket.title, label: Note}
""")
    assert good == []
    found = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  done: {final: true}
transitions:
  - action: close
    from: draft
    to: done
    inputs:
      a: {like: tickte.state}
      b: {like: ticket.stat}
      c: {like: ticket.created_by}
""")
    text = "\n".join(found)
    assert "ticket.yaml:11: transitions[0].inputs.a.like: unknown entity 'tickte' " \
           "(did you mean 'ticket'?)" in text, text
    assert "ticket.yaml:12: transitions[0].inputs.b.like: unknown field 'stat' of " \
           "'ticket' (did you mean 'state'?)" in text, text
    assert "ticket.yaml:13: transitions[0].inputs.c.like: unknown field 'created_by'" in text
    assert len(found) == 3, found
    (malformed,) = problems(tmp_path, """workflow: desk
entity: ticket
states:
  draft: {initial: true}
  done: {final: true}
transitions:
  - {action: close, from: draft, to: done, inputs: {d: {like: ticket}}}
""")
    assert "ticket.yaml:7: transitions[0].inputs.d.like: 'ticket' does not match" in malformed


def test_resolve_like_copies_the_field_and_keeps_the_inputs_own_keys():
    from yiti.definitions.model import Field, Option
    from yiti.workflow.spec import Input, resolve_like

    carrier = Field(name="carrier", type="select", label={"en": "Carrier"},
                    options=(Option("sf", {"en": "SF"}), Option("jd", {})))

    class Shipment:
        fields = {"carrier": carrier}

    got = resolve_like(Input("carrier", type="", required=True, like="shipment.carrier"),
                       {"shipment": Shipment})
    assert (got.type, got.label, got.required, got.options) == (
        "select", {"en": "Carrier"}, True, (("sf", {"en": "SF"}), ("jd", None)))
    own = resolve_like(Input("carrier", type="", label="Who", options=(("x", None),),
                             like="shipment.carrier"), {"shipment": Shipment})
    assert (own.label, own.options) == ("Who", (("x", None),))
    with pytest.raises(ValueError, match="unknown entity 'parcel'"):
        resolve_like(Input("c", type="", like="parcel.carrier"), {"shipment": Shipment})
