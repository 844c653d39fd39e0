"""A transition input that names a record (``type: link``, docs/workflow.md "Inputs"):
given as an id or a lookup, refused at its name when the record does not exist or the
actor may not read it (the same answer for both), reaching ``set`` and hooks as the id,
kept in the history, offered with the record forms' link picker, described in OpenAPI,
and checked by ``yiti check``."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from yiti.site import Site
from yiti.workflow import Workflows

from .conftest import Api
from .test_check import problems
from .test_delegations import signed_in
from .test_inputs import parcel


def claim(api: Api, who: str) -> dict[str, Any]:
    made = api(who).post("/api/v1/expense_claim", json={"title": "Courier", "amount": "40"})
    assert made.status_code == 201, made.json
    return made.json


def test_a_link_input_takes_an_id_or_a_lookup_of_a_record_the_actor_may_read(
        api: Api, site: Site, engine: Workflows):
    mine, bobs = claim(api, "ann"), claim(api, "bob")
    p = parcel(api)
    hidden = api("ann").act("parcel", p["id"], "send", courier="sf", tracking="SF1",
                            claim=bobs["id"])
    missing = api("ann").act("parcel", p["id"], "send", courier="sf", tracking="SF1",
                             claim=bobs["id"] + 1000)
    assert hidden.status_code == missing.status_code == 422
    (error,) = hidden.json["errors"]
    assert (error["field"], error["code"]) == ("claim", "link")
    assert error["message"] == f"no expense_claim with id {bobs['id']} that you may read"
    # bob's claim exists, ann may not read it: she is told what a missing one tells her
    assert missing.json["errors"][0]["message"] == \
        f"no expense_claim with id {bobs['id'] + 1000} that you may read"
    by_name = api("ann").act("parcel", p["id"], "send", courier="sf", tracking="SF1",
                             claim={"name": bobs["name"]})
    assert by_name.status_code == 422
    assert by_name.json["errors"][0]["message"] == \
        f"no expense_claim with name={bobs['name']!r} that you may read"
    malformed = api("ann").act("parcel", p["id"], "send", courier="sf", tracking="SF1",
                               claim="twelve")
    assert {k: malformed.json["errors"][0][k] for k in ("field", "code", "message")} == {
        "field": "claim", "code": "type", "message": "must be a record id"}
    assert api("ann").get(f"/api/v1/parcel/{p['id']}").json["state"] == "open"

    sent = api("ann").act("parcel", p["id"], "send", courier="sf", tracking="SF1",
                          claim={"name": mine["name"]})
    assert sent.status_code == 200, sent.json
    assert sent.json["claim"] == mine["id"]  # set: {claim: "inputs.claim"}
    seen = sys.modules["yiti_packs.wfpack.hooks.parcels"].SEEN[-1]
    assert seen["inputs"]["claim"] == mine["id"]
    (row,) = engine.history(engine.site.records().actor, "parcel", p["id"])
    assert row["inputs"] == {"courier": "sf", "tracking": "SF1", "weight": None,
                             "claim": mine["id"]}
    shown = api("ann").get(f"/api/v1/parcel/{p['id']}/workflow").json["history"][0]
    assert {i["name"]: i["value"] for i in shown["inputs_shown"]}["claim"].startswith(
        mine["name"])


def test_the_action_form_offers_the_link_picker_and_the_history_names_the_record(
        app: Flask, api: Api):
    mine = claim(api, "ann")
    p = parcel(api)
    client, token = signed_in(app, "ann")
    page = client.get(f"/workflow/parcel/{p['id']}").get_data(as_text=True)
    form = page[page.index('data-action="send"'):]
    form = form[:form.index("</form>")]
    # the record forms' picker: a hidden id and a search box asking the lookup
    assert 'type="hidden" name="claim"' in form and "yiti-link-search" in form
    assert "expense_claim" in re.search(r'hx-get="([^"]+)"', form).group(1)
    assert 'aria-label="Expense claim"' in form
    done = client.post(f"/workflow/act/parcel/{p['id']}/send", data={
        "csrf_token": token, "version": str(p["version"]), "courier": "sf",
        "tracking": "SF2", "claim": str(mine["id"]), "claim.search": mine["name"],
        "next": f"/workflow/parcel/{p['id']}"})
    assert done.status_code == 302
    after = client.get(f"/workflow/parcel/{p['id']}").get_data(as_text=True)
    assert 'data-input="claim"' in after and mine["name"] in after


def test_openapi_describes_a_link_input(api: Api):
    spec = api("ann").get("/api/v1/openapi.json").json
    body = spec["paths"]["/api/v1/parcel/{id}/actions/send"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    claim_schema = schema["properties"]["claim"]
    assert {"type": "integer", "minimum": 1} in claim_schema["oneOf"]
    assert "expense_claim you may read" in claim_schema["description"]


def test_check_refuses_a_link_input_without_a_readable_entity(tmp_path: Path):
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
      a: {type: link}
      b: {type: link, entity: tickte}
      c: {type: link, entity: ticket_line}
      d: {type: string, entity: ticket}
      e: {type: link, entity: ticket}
      f: {like: job.ticket}
""", {"entities/ticket_line.yaml": "entity: ticket_line\nchild: true\n"
                                  "fields: {x: {type: string}}\n",
      "entities/job.yaml": "entity: job\nfields:\n  ticket: {type: link, entity: ticket}\n"
                           "  lines: {type: table, entity: ticket_line}\n"})
    text = "\n".join(found)
    assert "inputs.a.type: a link input needs entity" in text
    assert "inputs.b.entity: unknown entity 'tickte' (did you mean 'ticket'?)" in text
    assert "inputs.c.entity: 'ticket_line' is a child entity (lines of job)" in text
    assert "inputs.d.entity: entity applies to a link input, not a string one" in text
    assert not any("inputs.e" in p or "inputs.f" in p for p in found), found
