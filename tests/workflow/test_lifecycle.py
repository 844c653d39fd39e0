"""The document_lifecycle template end to end through the API on a submittable entity
(wfpack memo): review, rejection with a reason, approval that submits and locks the
document, then close; or cancel with a reason, which cancels the document."""

from __future__ import annotations

from .conftest import Api


def memo(api: Api, title: str = "Opening hours") -> dict:
    made = api("ann").post("/api/v1/memo", json={"title": title, "body": "9 to 5"})
    assert made.status_code == 201, made.json
    return made.json


def test_review_approve_lock_and_close(api: Api):
    m = memo(api)
    assert (m["state"], m["docstatus"]) == ("draft", "draft")
    assert api("ann").act("memo", m["id"], "submit").json["state"] == "review"
    assert api("dan").get("/api/v1/approvals/count").json == {"count": 1}  # any TeamLead
    no_reason = api("leo").act("memo", m["id"], "reject")
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "comment"
    back = api("leo").act("memo", m["id"], "reject", comment="Weekends?").json
    assert back["state"] == "draft"
    edited = api("ann").patch(f"/api/v1/memo/{m['id']}", json={"body": "9 to 5, Sat 10 to 2"},
                              headers={"If-Match": f'"v{back["version"]}"'})
    assert edited.status_code == 200, edited.json
    api("ann").act("memo", m["id"], "submit")
    approved = api("dan").act("memo", m["id"], "approve").json
    assert (approved["state"], approved["docstatus"]) == ("approved", "submitted")
    locked = api("ann").patch(f"/api/v1/memo/{m['id']}", json={"body": "changed"},
                              headers={"If-Match": f'"v{approved["version"]}"'})
    assert locked.status_code == 409, locked.json  # submitted: immutable
    assert api("ann").act("memo", m["id"], "approve").status_code == 409  # not in review
    closed = api("ann").act("memo", m["id"], "close").json
    assert (closed["state"], closed["docstatus"]) == ("closed", "submitted")
    flow = api("ann").get(f"/api/v1/memo/{m['id']}/workflow").json
    assert flow["actions"] == []  # final
    assert [(h["action"], h["to_state"]) for h in flow["history"]] == [
        ("submit", "review"), ("reject", "draft"), ("submit", "review"),
        ("approve", "approved"), ("close", "closed")]
    assert flow["history"][1]["comment"] == "Weekends?"


def test_cancel_an_approved_document(api: Api):
    m = memo(api)
    api("ann").act("memo", m["id"], "submit")
    api("leo").act("memo", m["id"], "approve")
    assert api("ann").act("memo", m["id"], "cancel_document").status_code == 422
    done = api("ann").act("memo", m["id"], "cancel_document", comment="Superseded").json
    assert (done["state"], done["docstatus"]) == ("cancelled", "cancelled")


def test_history_in_the_transaction_of_its_action(site, engine, people):
    """A history row is sent with the COMMIT, yet a read in the same transaction sees it,
    and it is rolled back with its action."""
    from .conftest import actor

    ann = actor(site, "ann")
    records = site.records(ann)
    with records.unit_of_work():
        m = records.create("memo", {"title": "Rota", "body": "9 to 5"})
        engine.act(ann, "memo", m["id"], "submit")
        seen = [(h["action"], h["to_state"]) for h in engine.history(ann, "memo", m["id"])]
        assert seen == [("submit", "review")]
    assert [h["action"] for h in engine.history(ann, "memo", m["id"])] == ["submit"]

    class Undo(Exception):
        pass

    try:
        with records.unit_of_work():
            n = records.create("memo", {"title": "Rota 2", "body": "10 to 6"})
            engine.act(ann, "memo", n["id"], "submit")
            raise Undo
    except Undo:
        pass
    h = site.tables["yiti_workflow_history"]
    with site.engine.connect() as conn:
        from sqlalchemy import func, select

        left = conn.execute(select(func.count()).select_from(h).where(
            h.c.record_id == n["id"], h.c.entity == "memo")).scalar_one()
    assert left == 0


def test_a_new_memo_never_inherits_a_deleted_ones_workflow_history(api: Api, site):
    """SQLite reused a deleted record's id: the new record showed the old one's workflow
    history (with snapshots of its values) and audit trail."""
    old = memo(api, "Deleted")
    api("ann").act("memo", old["id"], "submit")
    back = api("leo").act("memo", old["id"], "reject", comment="No").json
    site.records().delete("memo", old["id"], version=back["version"])
    new = memo(api, "Fresh")
    assert new["id"] != old["id"]
    assert api("ann").get(f"/api/v1/memo/{new['id']}/workflow").json["history"] == []
    trail = api("ann").get(f"/api/v1/memo/{new['id']}/history").json
    assert [h["action"] for h in trail["data"]] == ["create"]
