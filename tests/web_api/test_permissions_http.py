"""Every denial over HTTP: 404 or 403, and the record's data nowhere in any response."""

from __future__ import annotations

import json

from flask.testing import FlaskClient


def _everything(client: FlaskClient, auth: dict[str, str], entity: str) -> str:
    """Every response a user could get about ``entity``: lists, searches, pages."""
    out = []
    for query in ("", "?limit=500", "?q=Bob", "?q=G2", "?count=true",
                  "?fields=full_name,group.code", "?filter=group.code:eq:G2"):
        out.append(client.get(f"/api/v1/{entity}{query}", headers=auth).get_data(as_text=True))
    return "\n".join(out)


def test_no_permission_on_an_entity(client: FlaskClient, make_user, library) -> None:
    auth = make_user("bea", "Borrower")
    listed = client.get("/api/v1/contact", headers=auth)
    assert listed.status_code == 403 and listed.json["code"] == "forbidden"
    one = client.get(f"/api/v1/contact/{library['c1']}", headers=auth)
    assert one.status_code == 404
    assert client.get(f"/api/v1/contact/{library['c1']}/history",
                      headers=auth).status_code == 404
    created = client.post("/api/v1/contact", json={"full_name": "X"}, headers=auth)
    assert created.status_code == 403
    assert created.json["detail"] == "you may not create Contact records"
    # the same refusals in the reader's language (Accept-Language), codes unchanged
    zh = {**auth, "Accept-Language": "zh-CN"}
    said = client.post("/api/v1/contact", json={"full_name": "X"}, headers=zh).json
    assert said["code"] == "forbidden" and said["detail"] == "您无权新建联系人记录"
    hidden = client.get(f"/api/v1/contact/{library['c1']}", headers=zh).json
    assert hidden["code"] == "not_found" and hidden["detail"] == f"未找到联系人 {library['c1']}"
    changed = client.patch(f"/api/v1/contact/{library['c1']}", json={"full_name": "Y"},
                           headers={**auth, "If-Match": '"v1"'})
    assert changed.status_code == 404
    everything = _everything(client, auth, "contact")
    assert "Ann One" not in everything and "ann@example.com" not in everything


def test_row_rule_my_group_over_a_link_path(client: FlaskClient, make_user, library) -> None:
    auth = make_user("cal", "Clerk", group="G1", kind="book")
    rows = client.get("/api/v1/contact?limit=500", headers=auth).json["data"]
    assert [r["id"] for r in rows] == [library["c1"]]
    everything = _everything(client, auth, "contact")
    assert "Bob Two" not in everything and "bob@example.com" not in everything
    assert "999" not in everything
    hidden = client.get(f"/api/v1/contact/{library['c2']}", headers=auth)
    assert hidden.status_code == 404 and "Bob" not in hidden.get_data(as_text=True)
    history = client.get(f"/api/v1/contact/{library['c2']}/history", headers=auth)
    assert history.status_code == 404
    write = client.patch(f"/api/v1/contact/{library['c2']}", json={"full_name": "Z"},
                         headers={**auth, "If-Match": '"v1"'})
    assert write.status_code == 404
    elsewhere = client.post("/api/v1/contact", json={"full_name": "Q", "group": library["g2"]},
                            headers=auth)
    assert elsewhere.status_code == 403


def test_row_rule_own_records(client: FlaskClient, make_user, library) -> None:
    bea, ben = make_user("bea", "Borrower"), make_user("ben", "Borrower")
    body = {"contact": library["c1"], "lines": [{"item": library["book"]}]}
    theirs = client.post("/api/v1/loan", json=body, headers=ben).json
    assert client.get(f"/api/v1/loan/{theirs['id']}", headers=bea).status_code == 404
    assert client.get(f"/api/v1/loan/{theirs['name']}", headers=bea).status_code == 404
    listed = client.get("/api/v1/loan?limit=500&count=true", headers=bea)
    assert listed.json["data"] == [] and listed.json["count"]["value"] == 0
    assert theirs["name"] not in listed.get_data(as_text=True)
    assert client.post(f"/api/v1/loan/{theirs['id']}/submit", json={"version": 1},
                       headers=bea).status_code == 404


def test_hidden_field_absent_and_refused(client: FlaskClient, make_user, library) -> None:
    auth = make_user("cal", "Clerk", group="G1", kind="book")
    record = client.get(f"/api/v1/contact/{library['c1']}", headers=auth).json
    assert "credit_limit" not in record
    listed = client.get("/api/v1/contact", headers=auth).get_data(as_text=True)
    assert "credit_limit" not in listed and "100.00" not in listed
    for query in ("filter=credit_limit:gt:1", "sort=-credit_limit", "fields=credit_limit",
                  'filters=[["credit_limit",">","1"]]'):
        refused = client.get(f"/api/v1/contact?{query}", headers=auth)
        assert refused.status_code == 422, query
        assert "credit_limit" in json.dumps(refused.json), query
    write = client.patch(f"/api/v1/contact/{library['c1']}", json={"credit_limit": "1"},
                         headers={**auth, "If-Match": '"v1"'})
    assert write.status_code == 422
    assert write.json["errors"][0]["field"] == "credit_limit"


def test_read_only_field_write_names_the_field(client: FlaskClient, make_user,
                                               library) -> None:
    auth = make_user("cal", "Clerk", group="G1", kind="book")
    write = client.patch(f"/api/v1/contact/{library['c1']}",
                         json={"email": "other@example.com", "phone": "13800000000"},
                         headers={**auth, "If-Match": '"v1"'})
    assert write.status_code == 422
    assert [e["field"] for e in write.json["errors"]] == ["email"]


def test_token_scopes(client: FlaskClient, make_user, library) -> None:
    reader = make_user("lib", "Librarian", scopes=("read:*",))
    assert client.get("/api/v1/item", headers=reader).status_code == 200
    assert client.post("/api/v1/item", json={"code": "A", "title": "A"},
                       headers=reader).status_code == 403
    items_only = make_user("lib2", "Librarian", scopes=("write:item", "read:item"))
    assert client.get("/api/v1/contact", headers=items_only).status_code == 403
    assert client.post("/api/v1/item", json={"code": "B", "title": "B"},
                       headers=items_only).status_code == 201


def test_admin_edits_permissions_and_explains(client: FlaskClient, make_user, site,
                                              library, sign_in) -> None:
    clerk = make_user("cal", "Clerk", group="G1", kind="book")
    make_user("root", "Administrator")
    assert client.get("/api/v1/_admin/permissions", headers=clerk).status_code == 403
    csrf = sign_in(client, "root")
    table = client.get("/api/v1/_admin/permissions", headers=csrf).json
    assert {"role": "Clerk", "entity": "item", "actions": ["read", "write"]}.items() <= next(
        a for a in table["access"] if a["role"] == "Clerk" and a["entity"] == "item").items()
    why = client.get(f"/api/v1/_admin/explain?user=cal&entity=contact&action=read"
                     f"&id={library['c2']}", headers=csrf).json
    assert why["allowed"] is False and "library.yaml" in why["source"]
    assert why["hidden"] == ["credit_limit"]
    revoke = client.put("/api/v1/_admin/permissions/access/Clerk/item",
                        json={"actions": []}, headers=csrf)
    assert revoke.status_code == 200, revoke.json
    assert client.get("/api/v1/item", headers=clerk).status_code == 403
    show = client.put("/api/v1/_admin/permissions/field/Clerk/contact/credit_limit",
                      json={"access": "normal"}, headers=csrf)
    assert show.status_code == 200
    assert "credit_limit" in client.get(f"/api/v1/contact/{library['c1']}", headers=clerk).json
    bad = client.put("/api/v1/_admin/permissions/access/Clerk/itme", json={"actions": ["read"]},
                     headers=csrf)
    assert bad.status_code == 422 and "did you mean 'item'" in bad.json["errors"][0]["message"]
    assert client.delete("/api/v1/_admin/permissions/access/Clerk/item",
                         headers=csrf).status_code == 204
    assert client.get("/api/v1/item", headers=clerk).status_code == 200


def test_a_token_carries_all_its_users_roles_and_nothing_once_revoked_or_disabled(
        client: FlaskClient, site, library) -> None:
    from yiti.permissions import tokens, users

    def bearer(name: str, *roles: str) -> tuple[dict[str, str], int]:
        ident = users.create_user(site, name, None, roles=roles)
        token, token_id = tokens.create_token(site, ident, ("*",))
        return {"Authorization": f"Bearer {token}"}, token_id

    both, both_id = bearer("two", "Borrower", "Librarian")
    me = client.get("/api/v1/_me", headers=both)
    assert me.status_code == 200 and set(me.json["roles"]) == {"Borrower", "Librarian"}
    assert client.get("/api/v1/item", headers=both).status_code == 200  # Librarian's grant
    none, _ = bearer("none")
    me = client.get("/api/v1/_me", headers=none)
    assert me.status_code == 200 and me.json["roles"] == []
    assert client.get("/api/v1/item", headers=none).status_code == 403
    assert tokens.revoke_token(site, both_id)
    assert client.get("/api/v1/item", headers=both).status_code == 401
    later, _ = bearer("later", "Librarian")
    users.set_enabled(site, "later", False)
    assert client.get("/api/v1/item", headers=later).status_code == 401
