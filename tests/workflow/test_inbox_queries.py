"""The inbox reads in batches: the same number of SQL statements for 2 waiting records as
for 12, for the user and for a stand-in, with the same items the count promises."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from yiti.site import Site
from yiti.workflow import Workflows, inbox

from .conftest import Api, actor
from .test_nav_count import submitted


def statements(site: Site, fn: Any) -> tuple[int, Any]:
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    event.listen(site.engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        event.remove(site.engine, "before_cursor_execute", count)
    return seen[0], result


def test_the_inbox_costs_the_same_queries_for_2_items_as_for_12(api: Api, site: Site,
                                                                engine: Workflows):
    made = api("leo").post("/api/v1/approvals/delegations",
                           json={"to_user": "dan", "starts": "2026-01-01",
                                 "ends": "2026-01-02"})
    assert made.status_code == 201, made.json
    leo, dan = actor(site, "leo"), actor(site, "dan")
    for i in range(2):
        submitted(site, engine, f"Taxi {i}", "80")
    few, listed = statements(site, lambda: inbox.items(engine, leo))
    few_dan, _ = statements(site, lambda: inbox.items(engine, dan))
    assert len(listed) == 2 and listed[0]["actions"]
    for i in range(10):
        submitted(site, engine, f"Hotel {i}", "300")
    many, listed = statements(site, lambda: inbox.items(engine, leo))
    many_dan, for_dan = statements(site, lambda: inbox.items(engine, dan))
    assert len(listed) == 12 == inbox.count(engine, leo)
    assert {a["action"] for a in listed[0]["actions"]} >= {"approve", "reject"}
    assert [i["on_behalf_of"] for i in for_dan] == ["leo"] * 12
    assert (many, many_dan) == (few, few_dan)
    # a record that moved on is no longer listed, with no more statements
    engine.act(leo, "expense_claim", listed[0]["id"], "approve")
    after, rest = statements(site, lambda: inbox.items(engine, leo))
    assert [i["id"] for i in rest] == [i["id"] for i in listed[1:]] and after == few


def test_the_inbox_answers_as_the_openapi_document_says(api: Api, site: Site,
                                                        engine: Workflows):
    from jsonschema import Draft202012Validator

    submitted(site, engine, "Taxi", "80")
    doc = api("leo").get("/api/v1/openapi.json").json
    listed = api("leo").get("/api/v1/approvals").json
    assert listed["count"] == 1 and listed["data"][0]["title"] == "Taxi"
    response = doc["paths"]["/api/v1/approvals"]["get"]["responses"]["200"]
    schema = response["content"]["application/json"]["schema"]
    Draft202012Validator({**schema, "components": doc["components"]}).validate(listed)
    count = doc["paths"]["/api/v1/approvals/count"]["get"]["responses"]["200"]
    Draft202012Validator(count["content"]["application/json"]["schema"]).validate(
        api("leo").get("/api/v1/approvals/count").json)
