"""A transition whose condition does not hold is refused in words for people (docs/
workflow.md, "Transitions"): its ``condition_message`` in the reader's language, or plain
words naming the action; never the formula on a screen (the API keeps it apart, in the
problem's ``condition``). ``yiti check`` warns of a refusal without a message, and of
states and actions without a label in one of the site's languages."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from flask import Flask

from yiti.definitions.loader import build_partial
from yiti.site import Site
from yiti.workflow import Workflows

from .conftest import Api
from .test_check import problems
from .test_delegations import signed_in


def free_purchase(api: Api, site: Site) -> dict[str, Any]:
    budget = site.records().create("budget", {"code": "IT", "owner": "leo"})
    made = api("ann").post("/api/v1/purchase", json={"title": "Gift", "amount": "0",
                                                     "budget": budget["id"]})
    assert made.status_code == 201, made.json
    return made.json


def submit(api: Api, ident: int, lang: str = "en") -> Any:
    return api.client.post(f"/api/v1/purchase/{ident}/actions/submit", json={},
                                  headers={**api.people["ann"], "Accept-Language": lang})


def test_without_a_message_people_are_told_in_plain_words(api: Api, site: Site):
    pr = free_purchase(api, site)
    en, zh = submit(api, pr["id"]), submit(api, pr["id"], "zh-CN")
    assert en.status_code == zh.status_code == 409
    assert en.json["code"] == "condition"
    assert en.json["detail"] == (f"Purchase request {pr['name']}: 'Submit' is not possible "
                                 "now (its condition does not hold)")
    assert zh.json["detail"] == f"采购申请 {pr['name']}：现在不能提交（条件不满足）"
    assert en.json["condition"] == zh.json["condition"] == "amount > 0"  # for developers


def test_a_condition_message_is_said_in_the_readers_language(
        app: Flask, api: Api, site: Site, engine: Workflows):
    wf = engine.by_entity["purchase"]
    message = {"en": "the amount must be more than 0", "zh-CN": "金额必须大于 0"}
    engine.by_entity["purchase"] = dataclasses.replace(wf, transitions=tuple(
        dataclasses.replace(t, condition_message=message) if t.action == "submit" else t
        for t in wf.transitions))
    pr = free_purchase(api, site)
    en, zh = submit(api, pr["id"]), submit(api, pr["id"], "zh-CN")
    assert en.json["detail"] == f"Purchase request {pr['name']}: the amount must be more than 0"
    assert zh.json["detail"] == f"采购申请 {pr['name']}: 金额必须大于 0"
    assert en.json["condition"] == "amount > 0"

    client, token = signed_in(app, "ann")
    client.set_cookie("yiti_lang", "zh-CN")
    done = client.post(f"/workflow/act/purchase/{pr['id']}/submit", data={
        "csrf_token": token, "next": f"/workflow/purchase/{pr['id']}"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "金额必须大于 0" in page and "amount &gt; 0" not in page and "amount > 0" not in page


def test_the_page_says_it_without_the_formula(app: Flask, api: Api, site: Site):
    pr = free_purchase(api, site)
    client, token = signed_in(app, "ann")
    done = client.post(f"/workflow/act/purchase/{pr['id']}/submit", data={
        "csrf_token": token, "next": f"/workflow/purchase/{pr['id']}"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert re.search(r"(&#39;|')Submit(&#39;|') is not possible now", page)
    assert "amount &gt; 0" not in page and "amount > 0" not in page


BILINGUAL = """entity: ticket
label: {en: Ticket, zh-CN: 工单}
fields:
  amount: {type: money}
  state: {type: select, options: [draft, done, gone]}
"""
ENGLISH = BILINGUAL.replace("label: {en: Ticket, zh-CN: 工单}", "label: Ticket")
FLOW = """workflow: desk
entity: ticket
states:
  draft: {initial: true, label: {en: Draft, zh-CN: 草稿}}
  done: {final: true, label: Done}
  gone: {final: true}
transitions:
  - {action: close, from: draft, to: done, label: {en: Close, zh-CN: 关闭}, condition: "amount > 0"}
  - {action: sync, from: draft, to: draft, by: [system]}
  - action: drop
    label: {en: Drop, zh-CN: 放弃}
    from: draft
    to: gone
    condition: "amount is None"
    condition_message: {en: only a ticket without an amount can be dropped}
  - {action: close, from: draft, to: done, label: {en: Close, zh-CN: 关闭}, condition: "amount > 9"}
"""


def warnings_of(tmp_path: Path, entity: str, flow: str = FLOW) -> list[str]:
    assert problems(tmp_path, flow, {"entities/ticket.yaml": entity}) == []  # warnings only
    loaded = build_partial([tmp_path / "modules"])
    return [str(w).replace(str(tmp_path) + "/", "") for w in loaded.warnings]


def test_check_warns_of_labels_missing_in_a_language_and_refusals_without_words(
        tmp_path: Path):
    found = warnings_of(tmp_path, BILINGUAL)
    text = "\n".join(found)
    path = "modules/desk/workflows/ticket.yaml"
    assert f"{path}:5: states.done.label: warning: state 'done' has no label in zh-CN" in text
    assert f"{path}:6: states.gone: warning: state 'gone' has no label in en, zh-CN" in text
    assert (f"{path}:9: transitions[1].action: warning: action 'sync' has no label in en, "
            "zh-CN: those readers see 'sync' on its button and in the history "
            "(add label: {en: ..., zh-CN: ...})") in text
    assert (f"{path}:15: transitions[2].condition_message: warning: condition_message has "
            "no text in zh-CN") in text
    # both close transitions have conditions, so the refusal can reach people
    assert (f"{path}:8: transitions[0].condition: warning: when the condition does not "
            "hold, people are told only that 'close' is not possible now") in text
    assert f"{path}:16: transitions[3].condition" in text
    assert len(found) == 6, found


def test_no_warning_when_the_site_speaks_one_language_or_a_refusal_cannot_happen(
        tmp_path: Path):
    flow = FLOW.replace(', condition: "amount > 9"', "")  # the second close always holds
    found = warnings_of(tmp_path, ENGLISH, flow)
    assert not any("label" in w for w in found), found
    assert not any("transitions[0].condition" in w for w in found), found


def test_other_refusals_are_said_in_the_readers_language_too(api: Api, site: Site):
    """An action the state does not offer (409) comes back in Chinese to a reader of
    Chinese: the engine's catalogue, the entity's label in the reader's language; English
    otherwise, as before. ``code`` stays as it is."""
    pr = free_purchase(api, site)

    def act(action: str, lang: str, body: dict | None = None) -> Any:
        return api.client.post(f"/api/v1/purchase/{pr['id']}/actions/{action}", json=body or {},
                               headers={**api.people["ann"], "Accept-Language": lang})

    en, zh = act("approve", "en"), act("approve", "zh-CN")
    assert en.status_code == zh.status_code == 409 and en.json["code"] == zh.json["code"]
    assert en.json["detail"] == (f"Purchase request {pr['name']} is draft; 'approve' is not "
                                 "possible there (possible: submit, close)")
    assert zh.json["detail"] == (f"采购申请 {pr['name']} 当前为“draft”，不能执行 'approve'"
                                 "（可执行：submit, close）")
