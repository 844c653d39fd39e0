"""Refusals are never silent: wrong state 409, wrong person 403, state field 422, unknown 404;
and two approvers at the same moment: one wins, the other gets a 409 (PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yiti.errors import Conflict
from yiti.jobs import FakeClock
from yiti.workflow import install

from .conftest import PEOPLE, Api, actor, build_site


def test_refusals_name_the_reason(api: Api):
    c = api("ann").post("/api/v1/expense_claim", json={"title": "Hotel", "amount": "100"}).json
    early = api("leo").act("expense_claim", c["id"], "approve")
    assert early.status_code == 409
    assert "draft" in early.json["detail"].lower() and "submit" in early.json["detail"]
    assert api("leo").act("expense_claim", c["id"], "submit").status_code == 403  # not his
    unknown = api("ann").act("expense_claim", c["id"], "aprove")
    assert unknown.status_code == 404 and "approve" in unknown.json["detail"]
    state = api("ann").patch(f"/api/v1/expense_claim/{c['id']}", json={"state": "approved"},
                             headers={"If-Match": '"v1"'})
    assert state.status_code == 422 and state.json["errors"][0]["field"] == "state"
    api("ann").act("expense_claim", c["id"], "submit")
    assert api("fay").act("expense_claim", c["id"], "approve").status_code == 403
    locked = api("ann").patch(f"/api/v1/expense_claim/{c['id']}", json={"title": "Motel"},
                              headers={"If-Match": '"v2"'})
    assert locked.status_code == 422 and locked.json["errors"][0]["field"] == "title"
    stale = api("leo").act("expense_claim", c["id"], "approve", version=1)
    assert stale.status_code == 409
    assert api("leo").act("expense_claim", c["id"], "approve", version=2).status_code == 200


def test_two_approvers_at_the_same_moment(postgres_db_url: str, tmp_path: Path):
    from yiti.permissions import users

    site = build_site(postgres_db_url, tmp_path, FakeClock())
    try:
        for name, (roles, attributes) in PEOPLE.items():
            users.create_user(site, name, None, roles=roles, attributes=attributes)
        engine = install(site)
        records = site.records(actor(site, "ann"))
        for _ in range(5):
            q = records.create("quote", {"title": "Paper"})
            engine.act(actor(site, "ann"), "quote", q["id"], "submit")
            version = records.get("quote", q["id"])["version"]
            barrier = threading.Barrier(2)
            outcomes: dict[str, str] = {}

            def approve(name: str, ident: int = q["id"], v: int = version,
                        barrier: threading.Barrier = barrier,
                        outcomes: dict[str, str] = outcomes) -> None:
                barrier.wait()
                try:
                    engine.act(actor(site, name), "quote", ident, "approve", version=v)
                    outcomes[name] = "approved"
                except Conflict as error:
                    outcomes[name] = f"conflict: {error.message}"

            threads = [threading.Thread(target=approve, args=(n,)) for n in ("leo", "fay")]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(v.split(":")[0] for v in outcomes.values()) == ["approved",
                                                                          "conflict"], outcomes
            flow = engine.history(actor(site, "ann"), "quote", q["id"])
            assert [h["action"] for h in flow] == ["submit", "approve"]
    finally:
        site.close()


@pytest.mark.parametrize("name", ["leo", "fay"])
def test_after_one_approver_the_other_is_told(api: Api, name: str):
    q = api("ann").post("/api/v1/quote", json={"title": "Pens"}).json
    api("ann").act("quote", q["id"], "submit")
    other = "fay" if name == "leo" else "leo"
    assert api(name).act("quote", q["id"], "approve").status_code == 200
    late = api(other).act("quote", q["id"], "approve")
    assert late.status_code == 409 and late.headers["Content-Type"] == "application/problem+json"
