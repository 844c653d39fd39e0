"""CRUD, lists, transitions, history, ETags and idempotency over /api/v1."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_create_get_and_json_types(client: FlaskClient, make_user, library) -> None:
    auth = make_user("lib", "Librarian")
    created = client.post("/api/v1/item", json={"code": "G-1", "title": "Go", "kind": "game",
                                                "deposit": "0.10", "weight": "1.234"},
                          headers=auth)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["deposit"] == "0.10" and body["weight"] == "1.234"
    assert body["created_at"].endswith("+00:00")
    assert created.headers["ETag"] == '"v1"'
    assert created.headers["Location"].endswith(f"/api/v1/item/{body['id']}")
    again = client.get(f"/api/v1/item/{body['id']}", headers=auth)
    assert again.json == body
    by_name = client.get("/api/v1/item/G-1", headers=auth)
    assert by_name.json["id"] == body["id"]
    assert client.get(f"/api/v1/item/{body['id']}", headers={
        **auth, "If-None-Match": '"v1"'}).status_code == 304


def test_lines_are_embedded_and_transitions(client: FlaskClient, make_user, library) -> None:
    auth = make_user("lib", "Librarian")
    loan = client.post("/api/v1/loan", json={
        "contact": library["c1"], "loan_date": "2026-11-11",
        "lines": [{"item": library["book"], "qty": 2, "deposit": "12.50"}]}, headers=auth)
    assert loan.status_code == 201, loan.json
    ident = loan.json["id"]
    assert loan.json["lines"][0]["item"] == library["book"]
    assert loan.json["lines"][0]["deposit"] == "12.50"
    submitted = client.post(f"/api/v1/loan/{ident}/submit", headers={**auth, "If-Match": '"v1"'})
    assert submitted.status_code == 200 and submitted.json["docstatus"] == "submitted"
    refused = client.patch(f"/api/v1/loan/{ident}", json={"notes": "x"},
                           headers={**auth, "If-Match": '"v2"'})
    assert refused.status_code == 409
    cancelled = client.post(f"/api/v1/loan/{ident}/cancel", json={"version": 2}, headers=auth)
    assert cancelled.json["docstatus"] == "cancelled"
    amended = client.post(f"/api/v1/loan/{ident}/amend", headers=auth)
    assert amended.status_code == 201 and amended.json["amended_from"] == ident
    history = client.get(f"/api/v1/loan/{ident}/history", headers=auth).json["data"]
    assert [h["action"] for h in history] == ["create", "submit", "cancel"]


def test_update_needs_a_version_and_refuses_stale_writes(client: FlaskClient, make_user,
                                                         library) -> None:
    auth = make_user("lib", "Librarian")
    url = f"/api/v1/contact/{library['c1']}"
    assert client.patch(url, json={"phone": "13800000001"}, headers=auth).status_code == 428
    assert client.delete(url, headers=auth).status_code == 428
    ok = client.patch(url, json={"phone": "13800000001"}, headers={**auth, "If-Match": '"v1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"v2"'
    stale = client.patch(url, json={"phone": "13800000002"}, headers={**auth, "If-Match": '"v1"'})
    assert stale.status_code == 409 and stale.json["code"] == "conflict"
    # A record read, changed and sent back whole changes only what was changed.
    whole = client.get(url, headers=auth).json
    whole["phone"] = "13800000003"
    put = client.put(url, json=whole, headers={**auth, "If-Match": '"v2"'})
    assert put.status_code == 200, put.json
    assert put.json["phone"] == "13800000003" and put.json["credit_limit"] == "100.00"
    # PUT replaces: a field left out is emptied.
    replaced = client.put(url, json={"full_name": "Ann"}, headers={**auth, "If-Match": '"v3"'})
    assert replaced.json["phone"] is None and replaced.json["full_name"] == "Ann"
    gone = client.delete(url, headers={**auth, "If-Match": '"v4"'})
    assert gone.status_code == 204
    assert client.get(url, headers=auth).status_code == 404


def test_if_match_is_compared_strongly_and_star_writes_over_the_current_version(
        client: FlaskClient, make_user, site, library, monkeypatch) -> None:
    from yiti.records.service import Records

    auth = make_user("lib", "Librarian")
    url = f"/api/v1/contact/{library['c1']}"
    weak = client.patch(url, json={"phone": "13800000001"}, headers={**auth, "If-Match": 'W/"v1"'})
    assert weak.status_code == 422 and weak.json["errors"][0]["field"] == "If-Match"
    assert client.get(url, headers=auth).json["version"] == 1  # nothing written

    # someone else changes the record between the PATCH's read and its write, once
    real, meanwhile = Records.update, []

    def update(self, entity_name, ident, values, *, version=None):
        if not meanwhile:
            meanwhile.append(real(site.records(), entity_name, ident,
                                  {"phone": "13900000000"}, version=version))
        return real(self, entity_name, ident, values, version=version)

    monkeypatch.setattr(Records, "update", update)
    star = client.patch(url, json={"full_name": "Star"}, headers={**auth, "If-Match": "*"})
    assert star.status_code == 200, star.json
    assert (star.json["full_name"], star.json["phone"]) == ("Star", "13900000000")
    assert star.headers["ETag"] == '"v3"'  # over the other change, which is kept
    meanwhile.clear()
    stale = client.patch(url, json={"full_name": "Stale"}, headers={**auth, "If-Match": '"v3"'})
    assert stale.status_code == 409  # with a version, a change meanwhile is still refused
    monkeypatch.setattr(Records, "update", real)
    assert client.get(url, headers=auth).json["full_name"] == "Star"


def test_idempotency_key_replays_and_creates_once(client: FlaskClient, make_user,
                                                  site, library) -> None:
    auth = {**make_user("lib", "Librarian"), "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/contact", json={"full_name": "Once"}, headers=auth)
    again = client.post("/api/v1/contact", json={"full_name": "Once"}, headers=auth)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert site.records().count("contact", filters=[("full_name", "=", "Once")]).value == 1
    other = client.post("/api/v1/contact", json={"full_name": "Twice"}, headers=auth)
    # the top-level code says what happened (docs/api.md), errors name the header
    assert other.status_code == 422 and other.json["code"] == "idempotency_mismatch"
    assert other.json["type"] == "https://yiti.dev/problems/idempotency_mismatch"
    assert other.json["errors"] == [{
        "field": "Idempotency-Key", "code": "idempotency_mismatch",
        "message": "this key was used for a different request; use a new key"}]
    # A failed request stores nothing: the key may be used again.
    key = {**auth, "Idempotency-Key": "k2"}
    assert client.post("/api/v1/contact", json={"email": "bad"}, headers=key).status_code == 422
    assert client.post("/api/v1/contact", json={"full_name": "Ok"}, headers=key
                       ).status_code == 201


def test_lists_filter_sort_page_fields_count(client: FlaskClient, make_user, site,
                                             library) -> None:
    auth = make_user("lib", "Librarian")
    records = site.records()
    for i in range(25):
        records.create("item", {"code": f"X-{i:02d}", "title": f"Thing {i}", "kind": "game",
                                "stock": i})
    page = client.get("/api/v1/item?filter=kind:eq:game&filter=stock:ge:5&sort=-stock"
                      "&limit=10&count=true", headers=auth).json
    assert [r["stock"] for r in page["data"]] == list(range(24, 14, -1))
    assert page["count"] == {"value": 20, "exact": True} and page["has_more"]
    second = client.get(f"/api/v1/item?filter=kind:eq:game&filter=stock:ge:5&sort=-stock"
                        f"&limit=10&after={page['next']}", headers=auth).json
    assert [r["stock"] for r in second["data"]] == list(range(14, 4, -1))
    by_offset = client.get("/api/v1/item?filter=kind:eq:game&sort=stock&limit=3&offset=3",
                           headers=auth).json
    assert [r["stock"] for r in by_offset["data"]] == [3, 4, 5]
    inlist = client.get("/api/v1/item?filter=code:in:X-01,X-02&fields=code,title",
                        headers=auth).json["data"]
    assert sorted(r["code"] for r in inlist) == ["X-01", "X-02"]
    assert set(inlist[0]) == {"id", "code", "title"}
    json_filters = client.get('/api/v1/item?filters=[["title","like","%25drill%25"]]',
                              headers=auth).json["data"]
    assert [r["code"] for r in json_filters] == ["TOOL-1"]
    search = client.get("/api/v1/contact?q=bob&fields=full_name,group.code",
                        headers=auth).json["data"]
    assert search == [{"id": library["c2"], "full_name": "Bob Two", "group.code": "G2"}]
    nulls = client.get("/api/v1/item?filter=weight:null&limit=100", headers=auth).json["data"]
    assert len(nulls) == 27


def test_bad_list_parameters_name_the_parameter(client: FlaskClient, make_user) -> None:
    auth = make_user("lib", "Librarian")
    for query, field in (("filter=nope:eq:1", "filters[0]"), ("filter=code:zz:1", "filter[0]"),
                         ("limit=0", "limit"), ("limit=x", "limit"), ("after=zzz", "after"),
                         ("sort=nope", "sort[0]"), ("filters=[1", "filters")):
        response = client.get(f"/api/v1/item?{query}", headers=auth)
        assert response.status_code == 422, (query, response.json)
        assert response.json["errors"][0]["field"] == field, (query, response.json)


def test_a_select_filter_with_a_value_that_is_no_option_is_refused(
        client: FlaskClient, make_user, site, library) -> None:
    # an outsider's `filter=reason:eq:nonsense` answered 200 with no rows, as if none matched
    auth = make_user("lib", "Librarian")
    site.records().create("item", {"code": "G-1", "title": "Go", "kind": "game"})
    for query in ("filter=kind:eq:gmae", "filter=kind:in:book,gmae",
                  'filters=[["kind","!=","gmae"]]'):
        response = client.get(f"/api/v1/item?{query}", headers=auth)
        assert response.status_code == 422, (query, response.json)
        error = response.json["errors"][0]
        assert error["code"] == "option", (query, error)
        assert error["message"] == ("kind 'gmae' is not an option; did you mean 'game'? "
                                    "(choose from book, tool, game)"), (query, error)
    # `like` takes any text: it finds values of an option since removed
    like = client.get("/api/v1/item?filter=kind:like:gam%25&limit=100", headers=auth)
    assert like.status_code == 200
    assert [r["code"] for r in like.json["data"]] == ["G-1"]
