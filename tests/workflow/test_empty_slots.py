"""Approver slots nobody fills. In a `mode: any` step one approver suffices: the step opens
for the slots that have somebody, and only a step with nobody at all refuses the action
entering it (naming every empty slot). In a `mode: all` step every slot must approve, so
one empty slot refuses. An HR pack of its own: a leave request goes to the employee's
manager (a path over link fields to a string field holding a user's name) or to HR."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import yiti.workflow  # noqa: F401 - registers the workflow kind and tables before the site
from yiti.errors import Conflict
from yiti.permissions import users
from yiti.site import Site
from yiti.testing import settings_for, write_pack
from yiti.workflow import Workflows, inbox, install

FILES = {
    "entities/employee.yaml": """entity: employee
naming: {field: user}
fields:
  user: {type: string, required: true, unique: true}
  manager: {type: link, entity: employee}
  annual_allowance: {type: decimal}
""",
    "entities/leave_request.yaml": """entity: leave_request
fields:
  employee: {type: link, entity: employee, required: true}
  days: {type: decimal}
  state: {type: select, options: [draft, review, countersign, lead, approved],
          read_only: true}
""",
    "permissions/roles.yaml": """roles:
  Employee: {label: Employee}
  HRManager: {label: HR manager}
access:
  - [Employee, employee, read]
  - [Employee, leave_request, read create write]
  - [HRManager, leave_request, read]
""",
    "workflows/leave_request.yaml": """workflow: leave
entity: leave_request
requester: employee.user
states:
  draft: {initial: true}
  review:                    # any (the default): the manager or HR
    approvers: [{field: employee.manager.user, label: Manager}, {role: HRManager}]
  countersign:               # all: the manager and HR
    mode: all
    approvers: [{field: employee.manager.user}, {role: HRManager}]
  lead:                      # any, but both slots name a person
    approvers: [{field: employee.manager.user}, {attribute: lead}]
  approved: {final: true}
transitions:
  - {action: submit, from: draft, to: review, by: [requester]}
  - {action: countersign, from: draft, to: countersign, by: [requester]}
  - {action: ask_lead, from: draft, to: lead, by: [requester]}
  - {action: approve, from: [review, countersign, lead], to: approved, approves: true}
  - {action: reject, from: [review, countersign, lead], to: draft}
""",
}


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "hr", FILES)
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"], packs=["hr"]))
    site.migrate()
    install(site)
    for name, roles in (("ann", ("Employee",)), ("bob", ("Employee",)),
                        ("leo", ("Employee",)), ("hana", ("HRManager",))):
        users.create_user(site, name, None, roles=roles)
    records = site.records()
    leo = records.create("employee", {"user": "leo"})
    records.create("employee", {"user": "ann", "manager": leo["id"]})
    records.create("employee", {"user": "bob"})  # no manager
    yield site
    site.close()


def person(site: Site, name: str):  # noqa: ANN201
    return users.actor_for(site, users.get_user(site, name))


def request(site: Site, who: str) -> dict:
    return site.records(person(site, who)).create(
        "leave_request", {"employee": {"user": who}, "days": Decimal("2")})


def slots(engine: Workflows, leave: dict) -> list[tuple[int, str | None, str | None]]:
    wf = engine.of("leave_request")
    return [(t["slot"], t["assignee"], t["role"]) for t in engine.open_tasks(wf, leave["id"])]


def test_any_opens_for_the_slots_that_have_somebody(site: Site):
    engine = yiti.workflow.workflows_of(site)
    ann, bob = request(site, "ann"), request(site, "bob")
    assert engine.act(person(site, "ann"), "leave_request", ann["id"], "submit")["state"] \
        == "review"
    assert slots(engine, ann) == [(0, "leo", None), (1, None, "HRManager")]
    # bob has no manager: the step opens for HR alone
    assert engine.act(person(site, "bob"), "leave_request", bob["id"], "submit")["state"] \
        == "review"
    assert slots(engine, bob) == [(1, None, "HRManager")]
    assert [i["id"] for i in inbox.items(engine, person(site, "leo"))] == [ann["id"]]
    assert sorted(i["id"] for i in inbox.items(engine, person(site, "hana"))) == [
        ann["id"], bob["id"]]
    done = engine.act(person(site, "hana"), "leave_request", bob["id"], "approve")
    assert done["state"] == "approved"


def test_any_with_every_slot_empty_refuses_naming_each(site: Site):
    engine = yiti.workflow.workflows_of(site)
    bob = request(site, "bob")
    with pytest.raises(Conflict) as refused:
        engine.act(person(site, "bob"), "leave_request", bob["id"], "ask_lead")
    assert refused.value.message == (
        "nobody to approve: as field employee.manager.user (the record names no user "
        "there), nor as the lead of the requester (user 'bob' has no attribute 'lead'; "
        "set it, or ask an administrator)")
    assert site.records().get("leave_request", bob["id"])["state"] == "draft"
    assert slots(engine, bob) == []


def test_all_refuses_when_one_slot_is_empty(site: Site):
    engine = yiti.workflow.workflows_of(site)
    ann, bob = request(site, "ann"), request(site, "bob")
    with pytest.raises(Conflict, match="nobody to approve as field employee.manager.user: "
                                       "the record names no user there"):
        engine.act(person(site, "bob"), "leave_request", bob["id"], "countersign")
    assert site.records().get("leave_request", bob["id"])["state"] == "draft"
    # with a manager every slot is filled: both must approve
    engine.act(person(site, "ann"), "leave_request", ann["id"], "countersign")
    assert slots(engine, ann) == [(0, "leo", None), (1, None, "HRManager")]
    half = engine.act(person(site, "leo"), "leave_request", ann["id"], "approve")
    assert half["state"] == "countersign"
    done = engine.act(person(site, "hana"), "leave_request", ann["id"], "approve")
    assert done["state"] == "approved"


def test_a_user_path_must_end_at_a_users_name(tmp_path: Path):
    """`yiti check`: a link (an id) or a number at the end of `field:`, `of:` or
    `requester:` names no user; a string field (or created_by) does."""
    from yiti.definitions import check

    files = dict(FILES)
    files["workflows/leave_request.yaml"] = """workflow: leave
entity: leave_request
requester: employee
states:
  draft: {initial: true}
  review:
    approvers: [{field: employee.manager}, {field: days}, {attribute: lead, of: created_by},
                {field: employee.manager.user}]
  approved: {final: true}
transitions:
  - {action: submit, from: draft, to: review}
  - {action: approve, from: review, to: approved}
"""
    write_pack(tmp_path / "packs", "hr", files)
    found = [str(e).replace(str(tmp_path) + "/", "") for e in check([tmp_path / "packs"])]
    assert found == [
        "packs/hr/workflows/leave_request.yaml:3: requester: 'employee' is a link (the "
        "linked record's id), not a user's name (follow it to the field holding the "
        "user's name: employee.<field>)",
        "packs/hr/workflows/leave_request.yaml:7: states.review.approvers[0].field: "
        "'employee.manager' is a link (the linked record's id), not a user's name (follow "
        "it to the field holding the user's name: employee.manager.<field>)",
        "packs/hr/workflows/leave_request.yaml:7: states.review.approvers[1].field: 'days' "
        "is a decimal field, not a user's name (name a field of type string, text, select, "
        "email holding one)",
    ]
