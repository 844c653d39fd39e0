"""Row rules comparing with the user's own name (``user: name``): an employee sees the
leave requests of the employee record whose ``user`` is their sign-in name, with no
attribute mirroring it, in lists, counts, reads, writes, exports and link paths; a
caller who is no user (a public page's visitor) matches nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from yiti import api
from yiti.config import PROJECT_ROOT
from yiti.definitions import check
from yiti.errors import Forbidden, ValidationError
from yiti.permissions import users
from yiti.site import Site
from yiti.testing import settings_for, write_pack
from yiti.web.app import create_app

ENTITIES = {
    "entities/employee.yaml":
        "entity: employee\nnaming: {series: 'EMP-{#####}'}\nfields:\n"
        "  user: {type: string, unique: true}\n"
        "  full_name: {type: string}\n"
        "  grade: {type: integer}\n",
    "entities/leave_request.yaml":
        "entity: leave_request\nfields:\n"
        "  employee: {type: link, entity: employee, required: true}\n"
        "  days: {type: integer, min: 1}\n"
        "  reason: {type: string}\n",
}
RULES = (
    "roles:\n  Employee: {}\n  Lead: {}\n  Guest: {}\n"
    "access:\n"
    "  - [Employee, employee, read]\n"
    "  - [Employee, leave_request, read create write export]\n"
    "  - [Lead, leave_request, read]\n"
    "  - [Guest, leave_request, read]\n"
    "rows:\n"
    "  - {role: Employee, entity: employee, field: user, user: name}\n"
    "  - {role: Employee, entity: leave_request, field: employee.user, user: name}\n"
    "  - {role: Guest, entity: leave_request, field: employee.user, user: name}\n"
)
RULE_TEXT = "records whose employee.user is the user's own user name"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "hr_names", {**ENTITIES, "permissions/staff.yaml": RULES})
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def staff(site: Site) -> dict[str, dict]:
    """Employees ann, bob and one whose user is 'guest'; two requests each."""
    records = site.records()
    found = {}
    for user in ("ann", "bob", "guest"):
        found[user] = records.create("employee", {"user": user, "full_name": f"{user} X"})
        for days in (1, 2):
            records.create("leave_request", {"employee": found[user]["id"], "days": days,
                                             "reason": f"{user}-secret-{days}"})
    return found


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return create_app(site=site).test_client()


def _sign_in(client: FlaskClient, name: str) -> dict[str, str]:
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = client.post("/auth/login", data={"name": name, "password": f"{name}-password-1",
                                              "csrf_token": token.group(1)})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return {"X-CSRFToken": client.get("/api/v1/_me").json["csrf_token"]}


def _user(site: Site, name: str, *roles: str) -> None:
    users.create_user(site, name, f"{name}-password-1", roles=roles)


def _reasons(rows: list[dict]) -> list[str]:
    return sorted(r["reason"] for r in rows)


def test_lists_counts_reads_and_exports_show_only_the_users_own(site: Site, staff,
                                                                 client) -> None:
    _user(site, "ann", "Employee")
    auth = _sign_in(client, "ann")
    listed = client.get("/api/v1/leave_request?count=true&limit=500", headers=auth).json
    assert _reasons(listed["data"]) == ["ann-secret-1", "ann-secret-2"]
    assert listed["count"]["value"] == 2
    employees = client.get("/api/v1/employee", headers=auth).json["data"]
    assert [e["user"] for e in employees] == ["ann"]

    bobs = site.records().list("leave_request", filters=[("employee", "=", staff["bob"]["id"])]
                               ).rows
    for row in bobs:
        answer = client.get(f"/api/v1/leave_request/{row['id']}", headers=auth)
        assert answer.status_code == 404
        assert "bob" not in answer.get_data(as_text=True)
    filtered = client.get("/api/v1/leave_request?filter=employee.user:eq:bob&count=true",
                          headers=auth).json
    assert filtered["data"] == [] and filtered["count"]["value"] == 0

    exported = client.get("/app/leave_request/export.csv", headers=auth)
    assert exported.status_code == 200
    text = exported.get_data(as_text=True)
    assert "ann-secret-1" in text and "ann-secret-2" in text
    assert "bob-secret" not in text and "guest-secret" not in text


def test_writes_outside_the_users_own_are_refused_naming_the_rule(site: Site, staff,
                                                                   client) -> None:
    _user(site, "ann", "Employee")
    auth = _sign_in(client, "ann")
    mine = client.post("/api/v1/leave_request",
                       json={"employee": staff["ann"]["id"], "days": 3}, headers=auth)
    assert mine.status_code == 201, mine.json
    by_lookup = client.post("/api/v1/leave_request",
                            json={"employee": {"user": "ann"}, "days": 4}, headers=auth)
    assert by_lookup.status_code == 201 and by_lookup.json["employee"] == staff["ann"]["id"]

    theirs = client.post("/api/v1/leave_request",
                         json={"employee": staff["bob"]["id"], "days": 3}, headers=auth)
    assert theirs.status_code == 403
    assert RULE_TEXT in theirs.json["detail"] and "staff.yaml" not in theirs.json["detail"]
    moved = client.patch(f"/api/v1/leave_request/{mine.json['id']}",
                         json={"employee": staff["bob"]["id"]},
                         headers={**auth, "If-Match": '"v1"'})
    assert moved.status_code == 403 and RULE_TEXT in moved.json["detail"]
    kept = site.records().get("leave_request", mine.json["id"])
    assert (kept["employee"], kept["version"]) == (staff["ann"]["id"], 1)
    assert site.records().count("leave_request",
                                filters=[("employee", "=", staff["bob"]["id"])]).value == 2

    ann = site.records(users.actor_for(site, users.get_user(site, "ann")))
    with pytest.raises(Forbidden) as refused:
        ann.create_many("leave_request", [{"employee": staff["ann"]["id"], "days": 1},
                                          {"employee": staff["bob"]["id"], "days": 1}])
    assert refused.value.message.startswith("rows[1]: ") and RULE_TEXT in refused.value.message


def test_a_user_named_like_no_employee_sees_nothing(site: Site, staff) -> None:
    _user(site, "zoe", "Employee")
    zoe = site.records(users.actor_for(site, users.get_user(site, "zoe")))
    assert zoe.list("leave_request").rows == []
    assert zoe.count("leave_request").value == 0
    with pytest.raises(Forbidden):
        zoe.create("leave_request", {"employee": staff["ann"]["id"], "days": 1})


def test_anonymous_callers_match_nothing_and_the_system_everything(site: Site, staff) -> None:
    """A public page's visitor acts as GUEST, named 'guest' but nobody's user: the
    employee whose user is 'guest' stays theirs alone."""
    guest = site.records(api.GUEST)
    assert guest.list("leave_request").rows == []
    assert guest.count("leave_request").value == 0
    assert site.records().count("leave_request").value == 6
    _user(site, "guest", "Guest")  # a real user of that name is a user like any other
    signed_in = site.records(users.actor_for(site, users.get_user(site, "guest")))
    assert _reasons(signed_in.list("leave_request").rows) == ["guest-secret-1",
                                                              "guest-secret-2"]


def test_an_attribute_called_name_is_refused_and_never_read(site: Site, staff,
                                                            client) -> None:
    with pytest.raises(ValidationError) as refused:
        users.create_user(site, "cy", "cy-password-1", roles=["Employee"],
                          attributes={"name": "bob"})
    assert [p.field for p in refused.value.problems] == ["attributes.name"]
    assert "reserved" in refused.value.problems[0].message
    _user(site, "ann", "Employee")
    with pytest.raises(ValidationError):
        users.set_attributes(site, "ann", {"name": "bob"})
    # one stored before the name was reserved changes nothing: the rule reads the name
    t = site.tables["yiti_user"]
    with site.engine.begin() as conn:
        conn.execute(update(t).where(t.c.name == "ann").values(attributes={"name": "bob"}))
    ann = site.records(users.actor_for(site, users.get_user(site, "ann")))
    assert _reasons(ann.list("leave_request").rows) == ["ann-secret-1", "ann-secret-2"]

    _user(site, "root", "Administrator")
    auth = _sign_in(client, "root")
    made = client.post("/api/v1/_admin/users", json={
        "name": "dee", "password": "dee-password-1", "roles": ["Employee"],
        "attributes": {"name": "ann"}}, headers=auth)
    assert made.status_code == 422
    assert [e["field"] for e in made.json["errors"]] == ["attributes.name"]


def test_administrator_overrides_take_user_name_and_check_the_path(site: Site, staff,
                                                                   client) -> None:
    _user(site, "bob", "Lead")
    bob = site.records(users.actor_for(site, users.get_user(site, "bob")))
    assert bob.count("leave_request").value == 6  # a lead's role has no row rule
    _user(site, "root", "Administrator")
    auth = _sign_in(client, "root")
    url = "/api/v1/_admin/permissions/rows/Lead/leave_request"
    link = client.put(url, json={"rules": [{"field": "employee", "user": "name"}]},
                      headers=auth)
    assert link.status_code == 422
    assert link.json["errors"][0]["field"] == "rules[0].field"
    assert "is a link to 'employee'" in link.json["errors"][0]["message"]
    assert "did you mean 'employee.user'?" in link.json["errors"][0]["message"]
    number = client.put(url, json={"rules": [{"field": "days", "user": "name"}]}, headers=auth)
    assert number.status_code == 422 and "field of type integer" in number.json["errors"][0]["message"]
    typo = client.put(url, json={"rules": [{"field": "employee.usr", "user": "name"}]},
                      headers=auth)
    assert typo.status_code == 422
    assert "did you mean 'user'?" in typo.json["errors"][0]["message"]
    assert bob.count("leave_request").value == 6  # nothing was saved

    done = client.put(url, json={"rules": [{"field": "employee.user", "user": "name"}]},
                      headers=auth)
    assert done.status_code == 200, done.json
    assert _reasons(bob.list("leave_request").rows) == ["bob-secret-1", "bob-secret-2"]
    why = client.get(f"/api/v1/_admin/explain?user=bob&entity=leave_request&action=read"
                     f"&id={bob.list('leave_request').rows[0]['id']}", headers=auth).json
    assert why["allowed"] is True and RULE_TEXT in why["rule"]
    assert client.delete(url, headers=auth).status_code == 204
    assert bob.count("leave_request").value == 6


def test_yiti_check_reports_a_path_that_cannot_hold_a_user_name(tmp_path: Path) -> None:
    bad = (
        "access:\n  - [Employee, leave_request, read]\n"
        "rows:\n"
        "  - {role: Employee, entity: leave_request, field: employee, user: name}\n"
        "  - {role: Employee, entity: leave_request, field: days, user: name}\n"
        "  - {role: Employee, entity: leave_request, field: employee.usr, user: name}\n"
        "  - {role: Employee, entity: leave_request, field: employee.user, user: name}\n"
        "  - {role: Employee, entity: leave_request, field: created_by, user: name}\n"
        "  - {role: Employee, entity: leave_request, field: employee, user: employee}\n")
    write_pack(tmp_path, "hr_names", {**ENTITIES, "permissions/staff.yaml": bad})
    problems = [str(p) for p in check([PROJECT_ROOT / "modules", tmp_path])]
    assert len(problems) == 3, problems
    link, number, typo = sorted(problems)
    assert "staff.yaml:4" in link and "is a link to 'employee'" in link
    assert "did you mean 'employee.user'?" in link
    assert "staff.yaml:5" in number and "'days' is a field of type integer" in number
    assert "staff.yaml:6" in typo and "unknown field 'usr'" in typo and "'user'" in typo
