"""A link given as a lookup (``{"user": "ann"}``) gets the answer its id gets from a row
rule through that link, over the REST API, for create and update, and in create_many;
a lookup still finds only records the user may read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from yiti.errors import Forbidden
from yiti.permissions import tokens, users
from yiti.site import Site
from yiti.testing import settings_for, write_pack
from yiti.web.app import create_app

# Employees read every employee; interns only their own. Both file leave requests only
# for themselves (the reported pack's rule: a path through the link).
STAFF = {
    "entities/employee.yaml":
        "entity: employee\nnaming: {series: 'EMP-{#####}'}\nfields:\n"
        "  user: {type: string, unique: true}\n"
        "  full_name: {type: string}\n",
    "entities/leave_request.yaml":
        "entity: leave_request\nfields:\n"
        "  employee: {type: link, entity: employee, required: true}\n"
        "  days: {type: integer, min: 1}\n",
    "permissions/staff.yaml":
        "roles:\n  Employee: {}\n  Intern: {}\n  Reviewer: {}\n"
        "access:\n"
        "  - [Employee, employee, read]\n"
        "  - [Employee, leave_request, read create write]\n"
        "  - [Intern, employee, read]\n"
        "  - [Intern, leave_request, read create write]\n"
        "  - [Reviewer, employee, read]\n"
        "  - [Reviewer, leave_request, read write]\n"
        "rows:\n"
        "  - {role: Employee, entity: leave_request, field: employee.name, user: employee}\n"
        "  - {role: Intern, entity: leave_request, field: employee.name, user: employee}\n"
        "  - {role: Intern, entity: employee, field: name, user: employee}\n"
        "fields:\n"
        "  - {role: Reviewer, entity: leave_request, field: employee, access: read_only}\n",
}


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "staff", STAFF)
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def staff(site: Site) -> dict[str, dict]:
    records = site.records()
    return {"bob": records.create("employee", {"user": "bob", "full_name": "Bob Secret"}),
            "ann": records.create("employee", {"user": "ann", "full_name": "Ann"})}


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return create_app(site=site).test_client()


def _token(site: Site, name: str, role: str, employee: str) -> dict[str, str]:
    ident = users.create_user(site, name, f"{name}-password-1", roles=[role],
                              attributes={"employee": employee})
    token, _ = tokens.create_token(site, ident, ("*",))
    return {"Authorization": f"Bearer {token}"}


def _ways(employee: dict) -> list[object]:
    """Every way a write may name ``employee``: its id, ``{"id": ...}``, two lookups."""
    return [employee["id"], {"id": employee["id"]}, {"user": employee["user"]},
            {"name": employee["name"]}]


@pytest.mark.parametrize("role", ["Employee", "Intern"])
def test_create_with_a_lookup_gets_the_answer_of_its_id(site: Site, staff, client, role
                                                         ) -> None:
    auth = _token(site, "ann", role, staff["ann"]["name"])
    for way in _ways(staff["ann"]):
        created = client.post("/api/v1/leave_request", json={"employee": way, "days": 2},
                              headers=auth)
        assert created.status_code == 201, (way, created.json)
        assert created.json["employee"] == staff["ann"]["id"]
    refusals = [client.post("/api/v1/leave_request", json={"employee": way, "days": 2},
                            headers=auth) for way in _ways(staff["bob"])]
    assert [r.status_code for r in refusals] == [403] * 4
    assert all(r.json == refusals[0].json for r in refusals)
    assert site.records().count("leave_request").value == 4


def test_a_lookup_of_a_record_the_user_may_not_read_leaks_nothing(site: Site, staff, client
                                                                   ) -> None:
    """The intern reads only their own employee record: a lookup of another is refused
    exactly as one of a record that doesn't exist, and as the other's id."""
    auth = _token(site, "ann", "Intern", staff["ann"]["name"])
    answers = [client.post("/api/v1/leave_request", json={"employee": way, "days": 2},
                           headers=auth)
               for way in (staff["bob"]["id"], {"user": "bob"}, {"user": "nobody"},
                           {"full_name": "Bob Secret"})]
    assert [a.status_code for a in answers] == [403] * 4
    assert all(a.json == answers[0].json for a in answers)
    text = "".join(a.get_data(as_text=True) for a in answers)
    assert "Secret" not in text and staff["bob"]["name"] not in text


@pytest.mark.parametrize("role", ["Employee", "Intern"])
def test_update_with_a_lookup_gets_the_answer_of_its_id(site: Site, staff, client, role
                                                         ) -> None:
    auth = _token(site, "ann", role, staff["ann"]["name"])
    mine = client.post("/api/v1/leave_request", json={"employee": staff["ann"]["id"],
                                                      "days": 1}, headers=auth).json
    url = f"/api/v1/leave_request/{mine['id']}"
    refusals = [client.patch(url, json={"employee": way, "days": 3},
                             headers={**auth, "If-Match": '"v1"'})
                for way in _ways(staff["bob"])]
    assert [r.status_code for r in refusals] == [403] * 4
    assert all(r.json == refusals[0].json for r in refusals)
    version = 1
    for way in _ways(staff["ann"]):
        changed = client.patch(url, json={"employee": way, "days": version + 1},
                               headers={**auth, "If-Match": f'"v{version}"'})
        assert changed.status_code == 200, (way, changed.json)
        assert changed.json["employee"] == staff["ann"]["id"]
        version = changed.json["version"]
    assert version == 5


def test_a_lookup_of_the_stored_record_changes_nothing(site: Site, staff, client) -> None:
    """A read-only link sent back as a lookup of the record it holds is no change, as
    its id is; a lookup of another record is refused as the other's id is."""
    auth = _token(site, "rex", "Reviewer", "")
    request = site.records().create("leave_request", {"employee": staff["ann"]["id"],
                                                      "days": 1})
    url = f"/api/v1/leave_request/{request['id']}"
    for days, way in enumerate(_ways(staff["ann"]), start=2):
        kept = client.patch(url, json={"employee": way, "days": days},
                            headers={**auth, "If-Match": "*"})
        assert (kept.status_code, kept.json["days"]) == (200, days), (way, kept.json)
    refusals = [client.patch(url, json={"employee": way}, headers={**auth, "If-Match": "*"})
                for way in _ways(staff["bob"])]
    assert {(r.status_code, r.json["errors"][0]["code"]) for r in refusals} == {
        (422, "forbidden_field")}


def test_create_many_resolves_lookups_before_the_row_rules(site: Site, staff) -> None:
    users.create_user(site, "ann", "ann-password-1", roles=["Employee"],
                      attributes={"employee": staff["ann"]["name"]})
    records = site.records(users.actor_for(site, users.get_user(site, "ann")))
    ids = records.create_many("leave_request", [{"employee": {"user": "ann"}, "days": 1},
                                                {"employee": staff["ann"]["id"], "days": 2}])
    assert [records.get("leave_request", i)["employee"] for i in ids] == [
        staff["ann"]["id"]] * 2
    with pytest.raises(Forbidden) as refused:
        records.create_many("leave_request", [{"employee": {"user": "ann"}, "days": 1},
                                              {"employee": {"user": "bob"}, "days": 1}])
    assert refused.value.message.startswith("rows[1]: ")
    assert site.records().count("leave_request").value == 2
