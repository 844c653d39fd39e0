"""Role, row and field rules, enforced by the record service for every caller."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiti.errors import Forbidden, NotFound, ValidationError
from yiti.permissions import overrides
from yiti.permissions.explain import explain
from yiti.permissions.policy import Actor
from yiti.site import Site

from .conftest import PACKS


@pytest.fixture
def data(site: Site) -> dict[str, int]:
    r = site.records()
    g1 = r.create("contact_group", {"code": "G1", "title": "One"})["id"]
    g2 = r.create("contact_group", {"code": "G2", "title": "Two"})["id"]
    return {
        "g1": g1, "g2": g2,
        "c1": r.create("contact", {"full_name": "Ann", "group": g1, "credit_limit": "5",
                                   "email": "ann@example.com"})["id"],
        "c2": r.create("contact", {"full_name": "Bob", "group": g2})["id"],
        "book": r.create("item", {"code": "B-1", "title": "Book", "kind": "book"})["id"],
        "tool": r.create("item", {"code": "T-1", "title": "Drill", "kind": "tool"})["id"],
    }


def test_no_grant_means_403_for_lists_and_404_for_records(site: Site, actor, data) -> None:
    borrower = actor("bea", "Borrower")
    records = site.records(borrower)
    with pytest.raises(Forbidden):
        records.list("contact")
    with pytest.raises(Forbidden):
        records.create("contact", {"full_name": "X"})
    with pytest.raises(NotFound):
        records.get("contact", data["c1"])
    with pytest.raises(NotFound):
        records.update("contact", data["c1"], {"full_name": "Y"})
    nobody = actor("nobody")
    with pytest.raises(Forbidden):
        site.records(nobody).list("item")


def test_own_records_rule(site: Site, actor, data) -> None:
    bea, ben = actor("bea", "Borrower"), actor("ben", "Borrower")
    line = [{"item": data["book"]}]
    mine = site.records(bea).create("loan", {"contact": data["c1"], "lines": line})
    theirs = site.records(ben).create("loan", {"contact": data["c2"], "lines": line})
    records = site.records(bea)
    assert [r["id"] for r in records.list("loan").rows] == [mine["id"]]
    assert records.count("loan").value == 1
    assert records.list("loan", filters=[("name", "=", theirs["name"])]).rows == []
    with pytest.raises(NotFound):
        records.get("loan", theirs["id"])
    with pytest.raises(NotFound):
        records.get("loan", theirs["name"])
    with pytest.raises(NotFound):
        records.update("loan", theirs["id"], {"due_date": "2030-01-01"})
    with pytest.raises(NotFound):
        records.history("loan", theirs["id"])
    assert records.update("loan", mine["id"], {"due_date": "2030-01-01"})["version"] == 2


def test_field_equals_user_attribute_rule(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk", kind="book", group="G1"))
    assert [r["id"] for r in clerk.list("item").rows] == [data["book"]]
    with pytest.raises(NotFound):
        clerk.get("item", data["tool"])
    with pytest.raises(NotFound):
        clerk.update("item", data["tool"], {"title": "Hammer"})
    assert clerk.update("item", data["book"], {"title": "Novel"})["title"] == "Novel"


def test_link_path_rule_and_creating_outside_it(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk", kind="book", group="G1"))
    assert [r["id"] for r in clerk.list("contact").rows] == [data["c1"]]
    with pytest.raises(NotFound):
        clerk.get("contact", data["c2"])
    assert clerk.create("contact", {"full_name": "New", "group": data["g1"]})["id"]
    with pytest.raises(Forbidden):
        clerk.create("contact", {"full_name": "Elsewhere", "group": data["g2"]})


def test_missing_attribute_sees_nothing_never_everything(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk"))
    assert clerk.list("item").rows == []
    assert clerk.list("contact").rows == []


def test_list_and_single_record_checks_agree(site: Site, actor, data) -> None:
    for attrs in ({"kind": "book", "group": "G1"}, {"kind": ["book", "tool"], "group": "G2"},
                  {}):
        name = f"c{len(str(attrs))}"
        clerk = site.records(actor(name, "Clerk", **attrs))
        for entity in ("item", "contact"):
            listed = {r["id"] for r in clerk.list(entity, limit=500).rows}
            for row in site.records().list(entity, limit=500).rows:
                try:
                    clerk.get(entity, row["id"])
                    seen = True
                except NotFound:
                    seen = False
                assert seen == (row["id"] in listed), (entity, row["id"], attrs)


def test_hidden_field_absent_and_refused(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk", kind="book", group="G1"))
    row = clerk.list("contact").rows[0]
    assert "credit_limit" not in row and "full_name" in row
    assert "credit_limit" not in clerk.get("contact", data["c1"])
    for call in (lambda: clerk.list("contact", filters=[("credit_limit", ">", "1")]),
                 lambda: clerk.list("contact", sort=["credit_limit"]),
                 lambda: clerk.list("contact", fields=["credit_limit"]),
                 lambda: clerk.update("contact", data["c1"], {"credit_limit": "7"})):
        with pytest.raises(ValidationError) as error:
            call()
        assert "credit_limit" in str(error.value.to_dict())
    history = clerk.history("contact", data["c1"])
    assert all("credit_limit" not in h["changes"] for h in history)


def test_read_only_field_refused_with_its_name(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk", kind="book", group="G1"))
    with pytest.raises(ValidationError) as error:
        clerk.update("contact", data["c1"], {"email": "new@example.com"})
    assert [p.field for p in error.value.problems] == ["email"]
    assert clerk.get("contact", data["c1"])["email"] == "ann@example.com"


def test_administrator_and_system_may_do_everything(site: Site, actor, data) -> None:
    admin = site.records(actor("root", "Administrator"))
    assert len(admin.list("contact").rows) == 2
    assert "credit_limit" in admin.get("contact", data["c1"])
    admin.update("contact", data["c2"], {"credit_limit": "3"})


def test_token_scopes_limit_the_user(site: Site, actor, data) -> None:
    base = actor("lib", "Librarian")
    reader = Actor(base.name, base.roles, attributes=base.attributes,
                   scopes=frozenset({"read:*"}))
    records = site.records(reader)
    assert records.list("contact").rows
    with pytest.raises(Forbidden):
        records.create("contact", {"full_name": "X"})
    with pytest.raises(NotFound):
        site.records(Actor("lib", base.roles, scopes=frozenset({"write:item"}))).get(
            "contact", data["c1"])


def test_overrides_replace_and_restore_declared_rules(site: Site, actor, data) -> None:
    clerk_actor = actor("cal", "Clerk", kind="book", group="G1")
    clerk = site.records(clerk_actor)
    table = site.tables["yiti_permission"]
    overrides.save(site.engine, table, kind="access", role="Clerk", entity="item",
                   field="", body={"actions": []}, user="root")
    overrides.save(site.engine, table, kind="field", role="Clerk", entity="contact",
                   field="credit_limit", body={"access": "normal"}, user="root")
    site.policy.invalidate()
    with pytest.raises(Forbidden):
        clerk.list("item")
    assert "credit_limit" in clerk.get("contact", data["c1"])
    why = explain(site.policy, clerk_actor, site.model.entity("item"), "read")
    assert not why.allowed and "Clerk" in why.rule
    overrides.remove(site.engine, table, kind="access", role="Clerk", entity="item", field="")
    site.policy.invalidate()
    assert clerk.list("item").rows


def test_explain_names_the_rule_that_decided(site: Site, actor, data) -> None:
    bea = actor("bea", "Borrower")
    ben = actor("ben", "Borrower")
    loan = site.records(ben).create("loan", {"contact": data["c1"],
                                             "lines": [{"item": data["book"]}]})
    entity = site.model.entity("loan")
    denied = explain(site.policy, bea, entity, "read", loan["id"])
    assert not denied.allowed
    assert denied.source.endswith("library.yaml:" + denied.source.rsplit(":", 1)[1])
    assert "permissions/library.yaml" in denied.source
    # the text reaches API clients: never the server's paths
    assert not denied.source.startswith("/") and str(PACKS) not in denied.source
    allowed = explain(site.policy, ben, entity, "write", loan["id"])
    assert allowed.allowed and "created" in allowed.rule
    assert allowed.hidden == ["late_fee_rate"] and allowed.read_only == ["notes"]
    none = explain(site.policy, bea, site.model.entity("contact"), "read", data["c1"])
    assert not none.allowed and "none of bea's roles" in none.rule
    admin = explain(site.policy, actor("root", "Administrator"), entity, "delete", loan["id"])
    assert admin.allowed and admin.source == "built-in"


def test_a_pack_outside_the_project_is_named_from_its_folder(tmp_path: Path) -> None:
    from yiti.definitions.source import in_pack

    outside = tmp_path / "packs" / "leave" / "permissions" / "leave.yaml"
    assert in_pack(str(outside), "leave") == "leave/permissions/leave.yaml"
    assert in_pack("modules/leave/permissions/leave.yaml", "leave") == \
        "modules/leave/permissions/leave.yaml"
    # without the pack's name: the nearest folder holding a manifest, else the file's own
    outside.parent.mkdir(parents=True)
    assert in_pack(str(outside)) == "permissions/leave.yaml"
    (tmp_path / "packs" / "leave" / "module.yaml").write_text("name: leave\n")
    assert in_pack(str(outside)) == "leave/permissions/leave.yaml"


def test_create_many_checks_row_rules_for_every_record(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk", kind="book", group="G1"))
    assert len(clerk.create_many("contact", [{"full_name": "A", "group": data["g1"]},
                                             {"full_name": "B", "group": data["g1"]}])) == 2
    with pytest.raises(Forbidden) as error:
        clerk.create_many("contact", [{"full_name": "C", "group": data["g1"]},
                                      {"full_name": "Elsewhere", "group": data["g2"]}])
    assert error.value.message.startswith("rows[1]: you may not create this")
    assert site.records().count("contact").value == 4  # Ann, Bob, A, B: nothing of the second


def test_overrides_due_again_are_read_by_one_thread_while_the_others_go_on(
        site: Site, monkeypatch) -> None:
    import threading
    import time

    from yiti.permissions import role_policy

    policy = site.policy
    first = policy.rules()
    reads: list[int] = []
    reading = threading.Event()
    release = threading.Event()
    real_load = overrides.load

    def slow_load(engine, table):  # noqa: ANN001, ANN202
        reads.append(1)
        reading.set()
        release.wait(5)
        return real_load(engine, table)

    monkeypatch.setattr(role_policy.overrides, "load", slow_load)
    policy._loaded_at = time.monotonic() - role_policy.OVERRIDES_TTL - 1  # due again
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(policy.rules()))
    reader.start()
    assert reading.wait(5)
    others = [policy.rules() for _ in range(8)]  # not blocked behind the reader
    release.set()
    reader.join(5)
    assert reads == [1]
    assert all(rules is first for rules in others)
    assert got and got[0] is not first and policy.rules() is got[0]


def test_a_list_built_for_one_caller_is_not_reused_past_what_another_may_read(
        site: Site, actor, data) -> None:
    admin = site.records(actor("root", "Administrator"))
    auditor = site.records(actor("aud", "Auditor"))
    shape = {"filters": [("credit_limit", ">", "1")], "sort": ["full_name"]}
    assert [r["full_name"] for r in admin.list("contact", **shape).rows] == ["Ann"]
    assert [r["credit_limit"] for r in auditor.list("contact", **shape).rows] == [5]
    overrides.save(site.engine, site.tables["yiti_permission"], kind="field",
                   role="Auditor", entity="contact", field="credit_limit",
                   body={"access": "hidden"}, user="root")
    site.policy.invalidate()
    with pytest.raises(ValidationError) as error:
        auditor.list("contact", **shape)
    assert "credit_limit" in str(error.value.to_dict())
    assert all("credit_limit" not in r for r in auditor.list("contact", sort=["full_name"]).rows)
    assert admin.list("contact", **shape).rows[0]["credit_limit"] == 5


def test_adjust_keeps_to_the_row_rule(site: Site, actor, data) -> None:
    clerk = site.records(actor("cal", "Clerk", kind="book", group="G1"))
    before = {k: site.records().get("item", data[k])["stock"] or 0 for k in ("book", "tool")}
    for _ in range(2):  # the second time with the statement kept from the first
        site.records().adjust("item", [(data["book"], {"stock": 1})])
    changed = clerk.adjust("item", [(data["book"], {"stock": 2})])
    assert changed[0]["stock"] == before["book"] + 4
    with pytest.raises(NotFound):  # a drill is not of the clerk's kind
        clerk.adjust("item", [(data["tool"], {"stock": 1})])
    assert (site.records().get("item", data["tool"])["stock"] or 0) == before["tool"]
