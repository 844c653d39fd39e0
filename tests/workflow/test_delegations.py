"""Delegations: a user sets up "while I am away, X acts for me" on a page or over the API,
sees and ends their own; an administrator anyone's. Validation names the field; the page's
forms carry the CSRF token; the stand-in decides on the delegator's behalf."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from yiti.permissions import users
from yiti.site import Site

from .conftest import Api


def signed_in(app: Flask, name: str) -> tuple[FlaskClient, str]:
    """A browser-like client signed in as ``name``, and its CSRF token."""
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post("/auth/login", data={"name": name, "password": f"{name}-password-1",
                                            "csrf_token": token, "next": "/workflow/inbox"})
    assert done.status_code == 302, done.get_data(as_text=True)
    page = client.get("/workflow/delegations").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def delegate(api: Api, who: str, **body: str):  # noqa: ANN201
    return api(who).post("/api/v1/approvals/delegations", json=body)


def test_api_create_list_and_end(api: Api, site: Site):
    made = delegate(api, "leo", to_user="dan", starts="2025-12-30", ends="2026-01-10",
                    reason="holiday")
    assert made.status_code == 201, made.json
    body = made.json
    assert (body["from_user"], body["to_user"], body["starts"], body["ends"],
            body["status"], body["created_by"]) == (
        "leo", "dan", "2025-12-30", "2026-01-10", "active", "leo")
    later = delegate(api, "leo", to_user="fay", starts="2026-02-01", ends="2026-02-03")
    assert later.json["status"] == "upcoming"
    mine = api("leo").get("/api/v1/approvals/delegations").json
    assert [(d["to_user"], d["status"]) for d in mine["data"]] == [("fay", "upcoming"),
                                                                   ("dan", "active")]
    # the stand-in sees it (received), may not end it, and sees no one else's
    received = api("dan").get("/api/v1/approvals/delegations").json["data"]
    assert [d["id"] for d in received] == [body["id"]]
    ended_by_dan = api_delete(api, "dan", body["id"])
    assert ended_by_dan.status_code == 403 and "leo" in ended_by_dan.json["detail"]
    assert api_delete(api, "ann", body["id"]).status_code == 404  # not hers to know of
    assert api("dan").get("/api/v1/approvals/delegations?user=leo").status_code == 403
    assert api("dan").get("/api/v1/approvals/delegations?all=1").status_code == 403

    # ending: an active one ends yesterday (kept), an upcoming one goes
    assert api_delete(api, "leo", body["id"]).status_code == 204
    assert api_delete(api, "leo", later.json["id"]).status_code == 204
    left = api("leo").get("/api/v1/approvals/delegations").json["data"]
    assert [(d["id"], d["ends"], d["status"]) for d in left] == [
        (body["id"], "2025-12-31", "ended")]
    assert api_delete(api, "leo", 999).status_code == 404


def api_delete(api: Api, who: str, ident: int):  # noqa: ANN201
    return api.client.delete(f"/api/v1/approvals/delegations/{ident}",
                             headers=api.people[who])


def test_validation_names_each_field(api: Api, site: Site):
    users.create_user(site, "old", None, roles=("TeamLead",))
    users.set_enabled(site, "old", False)
    cases = [
        ({}, {"to_user": "required", "starts": "required", "ends": "required"}),
        ({"to_user": "nobody", "starts": "2026-01-02", "ends": "yesterday"},
         {"to_user": "unknown_user", "ends": "type"}),
        ({"to_user": "leo", "starts": "2026-01-02", "ends": "2026-01-03"},
         {"to_user": "invalid"}),
        ({"to_user": "old", "starts": "2026-01-02", "ends": "2026-01-03"},
         {"to_user": "disabled_user"}),
        ({"to_user": "dan", "starts": "2026-01-05", "ends": "2026-01-03", "reason": 7},
         {"ends": "invalid", "reason": "type"}),
        ({"to_user": "dan", "starts": "2025-12-01", "ends": "2025-12-31"},
         {"ends": "invalid"}),  # over before today (2026-01-01 on the test clock)
        ({"to_user": "dan", "starts": "2026-01-02", "ends": "2026-01-03", "until": "x"},
         {"until": "unknown"}),
    ]
    for body, expected in cases:
        refused = delegate(api, "leo", **body)
        assert refused.status_code == 422, (body, refused.json)
        assert {e["field"]: e["code"] for e in refused.json["errors"]} == expected, body
    assert delegate(api, "leo", to_user="dan", starts="2026-01-02",
                    ends="2026-01-09").status_code == 201
    overlap = delegate(api, "leo", to_user="fay", starts="2026-01-09", ends="2026-01-12")
    assert overlap.status_code == 422
    assert overlap.json["errors"][0]["field"] == "starts"
    assert "already delegates to dan" in overlap.json["errors"][0]["message"]
    assert api("leo").get("/api/v1/approvals/delegations").json["count"] == 1


def test_only_an_administrator_manages_someone_elses(api: Api, site: Site):
    users.create_user(site, "ada", "ada-password-1", roles=("Administrator",))
    from yiti.permissions import tokens

    token, _ = tokens.create_token(site, users.get_user(site, "ada")["id"], ("*",))
    api.people["ada"] = {"Authorization": f"Bearer {token}"}
    refused = delegate(api, "ann", from_user="leo", to_user="ann", starts="2026-01-01",
                       ends="2026-01-02")
    assert refused.status_code == 403 and "administrator" in refused.json["detail"]
    made = delegate(api, "ada", from_user="leo", to_user="dan", starts="2026-01-01",
                    ends="2026-01-02")
    assert made.status_code == 201 and made.json["created_by"] == "ada"
    everyone = api("ada").get("/api/v1/approvals/delegations?all=1").json["data"]
    assert [d["from_user"] for d in everyone] == ["leo"]
    assert api("ada").get("/api/v1/approvals/delegations?user=leo").json["count"] == 1
    assert api_delete(api, "ada", made.json["id"]).status_code == 204


def test_the_page_asks_a_visitor_to_sign_in_first(app: Flask):
    response = app.test_client().get("/workflow/delegations")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_page_sets_up_lists_and_ends_a_delegation(app: Flask, api: Api, site: Site):
    client, token = signed_in(app, "leo")
    inbox = client.get("/workflow/inbox").get_data(as_text=True)
    assert 'href="/workflow/delegations"' in inbox
    page = client.get("/workflow/delegations")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="delegations-empty"' in text
    assert 'name="from_user"' not in text  # only administrators delegate for others
    assert 'name="viewport"' in text and 'type="date"' in text

    # no CSRF token: refused, nothing saved
    forged = client.post("/workflow/delegations", data={"to_user": "dan",
                                                        "starts": "2026-01-01",
                                                        "ends": "2026-01-05"})
    assert forged.status_code == 400
    assert api("leo").get("/api/v1/approvals/delegations").json["count"] == 0

    wrong = client.post("/workflow/delegations", data={
        "csrf_token": token, "to_user": "dna", "starts": "2026-01-01", "ends": ""})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert 'id="to_user-error"' in text and "no user called &#39;dna&#39;" in text
    assert 'id="ends-error"' in text and 'value="dna"' in text  # what was typed is kept

    done = client.post("/workflow/delegations", data={
        "csrf_token": token, "to_user": "dan", "starts": "2025-12-31", "ends": "2026-01-05",
        "reason": "Conference"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "dan stands in for leo from 2025-12-31" in text
    (row,) = api("leo").get("/api/v1/approvals/delegations").json["data"]
    assert f'data-delegation="{row["id"]}" data-status="active"' in text

    # dan sees it received, with no button to end it
    dan, dan_token = signed_in(app, "dan")
    theirs = dan.get("/workflow/delegations").get_data(as_text=True)
    assert f'data-delegation="{row["id"]}"' in theirs
    assert f'/workflow/delegations/{row["id"]}/end' not in theirs
    refused = dan.post(f"/workflow/delegations/{row['id']}/end",
                       data={"csrf_token": dan_token}, follow_redirects=True)
    assert "only leo" in refused.get_data(as_text=True)

    ended = client.post(f"/workflow/delegations/{row['id']}/end",
                        data={"csrf_token": token}, follow_redirects=True)
    assert ended.status_code == 200
    (row,) = api("leo").get("/api/v1/approvals/delegations").json["data"]
    assert (row["status"], row["ends"]) == ("ended", "2025-12-31")  # today is 2026-01-01


def test_the_page_in_chinese(app: Flask, api: Api):
    client, token = signed_in(app, "leo")
    switched = client.post("/app/language", data={"lang": "zh-CN", "csrf_token": token,
                                                  "next": "/workflow/delegations"})
    assert switched.status_code == 302
    text = client.get("/workflow/delegations").get_data(as_text=True)
    assert "委托" in text and "代理人" in text
    inbox = client.get("/workflow/inbox").get_data(as_text=True)
    assert "我的审批" in inbox
