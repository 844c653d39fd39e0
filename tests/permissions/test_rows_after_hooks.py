"""The row rules hold for the values written, not only for those sent: a pack's
before_validate, before_save or on_submit hook that moves a record out of the user's
rows gets the write refused (403, naming the rule), and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from yiti.errors import Forbidden
from yiti.permissions import tokens, users
from yiti.site import Site
from yiti.testing import settings_for, write_pack
from yiti.web.app import create_app

# Each hook moves the request to the employee whose id a field names: the kind of value
# a pack derives (the deputy, a handover, an escalation) that the user did not send.
HOOKS = '''
from yiti import api


@api.hook("leave_request", "before_validate")
def file_for_deputy(doc, ctx):
    if doc.get("deputy"):
        doc["employee"] = doc["deputy"]


@api.hook("leave_request", "before_save")
def hand_over(doc, ctx):
    if doc.get("handover"):
        doc["employee"] = doc["handover"]


@api.hook("leave_request", "on_submit")
def escalate(doc, ctx):
    if doc.get("escalate_to"):
        doc["employee"] = doc["escalate_to"]


@api.hook("leave_request", "before_validate")
def team_of_employee(doc, ctx):
    if doc.get("team_from_hook"):
        doc["team"] = doc["team_from_hook"]
'''
PACK = {
    "entities/employee.yaml":
        "entity: employee\nfields:\n  user: {type: string, unique: true}\n",
    "entities/leave_request.yaml":
        "entity: leave_request\nsubmittable: true\nfields:\n"
        "  employee: {type: link, entity: employee, required: true}\n"
        "  team: {type: string}\n"
        "  days: {type: integer, min: 1}\n"
        "  deputy: {type: integer}\n"
        "  handover: {type: integer}\n"
        "  escalate_to: {type: integer}\n"
        "  team_from_hook: {type: string}\n",
    "permissions/staff.yaml":
        "roles:\n  Employee: {}\n  Planner: {}\n"
        "access:\n"
        "  - [Employee, employee, read]\n"
        "  - [Employee, leave_request, read create write submit]\n"
        "  - [Planner, leave_request, read create write]\n"
        "rows:\n"
        "  - {role: Employee, entity: leave_request, field: employee.user, user: name}\n"
        "  - {role: Planner, entity: leave_request, field: team, user: team}\n",
    "hooks.py": HOOKS,
}
RULE_TEXT = "records whose employee.user is the user's own user name"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "hr_hooked", PACK)
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def staff(site: Site) -> dict[str, int]:
    records = site.records()
    return {user: records.create("employee", {"user": user})["id"] for user in ("ann", "bob")}


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return create_app(site=site).test_client()


def _token(site: Site, name: str, role: str, **attributes: Any) -> dict[str, str]:
    ident = users.create_user(site, name, f"{name}-password-1", roles=[role],
                              attributes=attributes)
    token, _ = tokens.create_token(site, ident, ("*",))
    return {"Authorization": f"Bearer {token}"}


def _bobs(site: Site, staff: dict[str, int]) -> int:
    return site.records().count("leave_request",
                                filters=[("employee", "=", staff["bob"])]).value


def test_the_hooks_move_a_record_when_the_rules_allow_it(site: Site, staff) -> None:
    """The system (no row rules) gets what the hooks set: the refusals below are the
    row rules', not hooks that did nothing."""
    records = site.records()
    moved = [records.create("leave_request", {"employee": staff["ann"], "days": 1, key:
                                              staff["bob"]})
             for key in ("deputy", "handover")]
    assert [r["employee"] for r in moved] == [staff["bob"]] * 2


@pytest.mark.parametrize("key", ["deputy", "handover"])
def test_a_create_a_hook_moves_outside_the_rules_is_refused(site: Site, staff, client,
                                                            key: str) -> None:
    auth = _token(site, "ann", "Employee")
    sent = {"employee": staff["ann"], "days": 2, key: staff["bob"]}
    refused = client.post("/api/v1/leave_request", json=sent, headers=auth)
    assert refused.status_code == 403
    assert refused.json["code"] == "forbidden"
    assert RULE_TEXT in refused.json["detail"] and "staff.yaml" not in refused.json["detail"]
    assert site.records().count("leave_request").value == 0
    kept = client.post("/api/v1/leave_request",
                       json={**sent, key: staff["ann"]}, headers=auth)
    assert kept.status_code == 201 and kept.json["employee"] == staff["ann"]


@pytest.mark.parametrize("key", ["deputy", "handover"])
def test_an_update_a_hook_moves_outside_the_rules_is_refused(site: Site, staff, client,
                                                             key: str) -> None:
    auth = _token(site, "ann", "Employee")
    mine = client.post("/api/v1/leave_request", json={"employee": staff["ann"], "days": 1},
                       headers=auth).json
    refused = client.patch(f"/api/v1/leave_request/{mine['id']}",
                           json={key: staff["bob"], "days": 5},
                           headers={**auth, "If-Match": '"v1"'})
    assert refused.status_code == 403 and RULE_TEXT in refused.json["detail"]
    stored = site.records().get("leave_request", mine["id"])
    assert (stored["employee"], stored["days"], stored["version"]) == (staff["ann"], 1, 1)
    assert _bobs(site, staff) == 0


def test_a_submit_a_hook_moves_outside_the_rules_is_refused(site: Site, staff) -> None:
    users.create_user(site, "ann", "ann-password-1", roles=["Employee"])
    ann = site.records(users.actor_for(site, users.get_user(site, "ann")))
    mine = ann.create("leave_request", {"employee": staff["ann"], "days": 1,
                                        "escalate_to": staff["bob"]})
    with pytest.raises(Forbidden) as refused:
        ann.submit("leave_request", mine["id"])
    assert RULE_TEXT in refused.value.message
    stored = site.records().get("leave_request", mine["id"])
    assert (stored["employee"], stored["docstatus"]) == (staff["ann"], "draft")


def test_create_many_names_the_row_a_hook_moved(site: Site, staff) -> None:
    users.create_user(site, "pat", "pat-password-1", roles=["Planner"],
                      attributes={"team": "north"})
    pat = site.records(users.actor_for(site, users.get_user(site, "pat")))
    rows = [{"employee": staff["ann"], "team": "north", "days": 1},
            {"employee": staff["bob"], "team": "north", "days": 1,
             "team_from_hook": "south"}]
    with pytest.raises(Forbidden) as refused:
        pat.create_many("leave_request", rows)
    assert refused.value.message.startswith("rows[1]: ")
    assert "records whose team is the user's team" in refused.value.message
    assert site.records().count("leave_request").value == 0
    rows[1]["team_from_hook"] = "north"
    assert len(pat.create_many("leave_request", rows)) == 2


def test_the_rules_are_asked_again_only_when_a_hook_changed_what_they_read(
        site: Site, staff, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule through a link costs a query: a write whose hooks leave the rule's
    field alone is checked once, as before."""
    users.create_user(site, "ann", "ann-password-1", roles=["Employee"])
    ann = site.records(users.actor_for(site, users.get_user(site, "ann")))
    checks: list[str] = []
    check = site.policy.check

    def counted(actor: Any, entity: Any, action: str, record: Any = None) -> None:
        if record is not None:
            checks.append(action)
        check(actor, entity, action, record)

    monkeypatch.setattr(site.policy, "check", counted)
    ann.create("leave_request", {"employee": staff["ann"], "days": 1})
    assert checks == ["create"]
    checks.clear()
    ann.create("leave_request", {"employee": staff["ann"], "days": 1,
                                 "deputy": staff["ann"]})  # set, to the same value
    assert checks == ["create"]
    checks.clear()
    with pytest.raises(Forbidden):
        ann.create("leave_request", {"employee": staff["ann"], "days": 1,
                                     "handover": staff["bob"]})
    assert checks == ["create", "create"]
