"""Administration in the browser: users, permissions and explain, for Administrators only.

The stories go through the pages as a person would (forms with their CSRF token), and
check the effect where it matters: the new user's own lists, the API and exports.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask

from yiti.permissions import users
from yiti.site import Site

from .conftest import PASSWORD, Client, csrf

ANN_PASSWORD = "ann's long password"
GET_PAGES = ["/admin/", "/admin/users", "/admin/users/new", "/admin/users/clerk",
             "/admin/permissions", "/admin/permissions?role=Employee",
             "/admin/permissions/Employee/item", "/admin/permissions/Employee/*",
             "/admin/explain", "/admin/explain?user=clerk&entity=item&action=read"]
POSTS = {
    "/admin/users/new": {"name": "eve", "password": ANN_PASSWORD, "roles": "Administrator"},
    "/admin/users/clerk": {"roles": "Employee", "enabled": "1"},
    "/admin/users/clerk/password": {"password": "x" * 12, "confirm": "x" * 12},
    "/admin/permissions/Employee/item/access": {"actions": "read"},
    "/admin/permissions/Employee/item/rows": {"rules": "own"},
    "/admin/permissions/Employee/item/field": {"field": "stock", "access": "hidden"},
    "/admin/permissions/Employee/expense_claim/remove": {"kind": "rows"},
}


class SignedIn(Client):
    """A client signed in as ``name`` (the shared fixture signs in as the administrator)."""

    def __init__(self, app: Flask, name: str, password: str) -> None:
        self.raw = app.test_client()
        token = csrf(self.raw)
        response = self.raw.post("/auth/login", data={"name": name, "password": password,
                                                       "csrf_token": token, "next": "/app/"})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf(self.raw, "/app/")


@pytest.fixture
def library(records) -> dict[str, int]:  # noqa: ANN001
    book = records.create("item", {"code": "BK-1", "title": "SICP", "kind": "book"})
    tool = records.create("item", {"code": "TL-1", "title": "Hammer", "kind": "tool"})
    claim = records.create("expense_claim", {"title": "Taxi", "amount": "12.00"})
    return {"book": book["id"], "tool": tool["id"], "claim": claim["id"]}


def create_ann(client: Client, **extra: str) -> None:
    form = {"name": "ann", "full_name": "Ann Lee", "email": "ann@example.com",
            "language": "zh-CN", "password": ANN_PASSWORD, "roles": ["Employee"],
            "attributes": "kind=book\nstore=SH-01\nstore=SH-02", **extra}
    response = client.post("/admin/users/new", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/admin/users/ann"


def test_admin_creates_a_user_who_sees_only_what_the_roles_allow(app, client, site: Site,
                                                                   library) -> None:
    create_ann(client)
    listed = client.get("/admin/users").get_data(as_text=True)
    assert "Ann Lee" in listed and "ann@example.com" in listed and "Employee" in listed
    ann = users.get_user(site, "ann")
    assert ann["attributes"] == {"kind": "book", "store": ["SH-01", "SH-02"]}
    assert ann["language"] == "zh-CN" and ann["enabled"]
    assert users.roles_of(site, ann["id"]) == {"Employee"}
    assert "kind=book" in client.get("/admin/users/ann").get_data(as_text=True)

    as_ann = SignedIn(app, "ann", ANN_PASSWORD)
    claims = as_ann.get("/app/expense_claim")
    assert claims.status_code == 200 and "Taxi" not in claims.get_data(as_text=True)  # not hers
    assert as_ann.get("/app/item").status_code == 403
    assert as_ann.get(f"/app/expense_claim/{library['claim']}").status_code == 404
    assert as_ann.get("/api/v1/item").status_code == 403
    home = as_ann.get("/app/").get_data(as_text=True)
    assert "/admin/users" not in home
    assert 'href="/admin/users"' in client.get("/app/").get_data(as_text=True)


def test_everyone_but_an_administrator_is_refused(app, client, site: Site) -> None:
    users.create_user(site, "bob", ANN_PASSWORD, roles=["Employee"])
    bob = SignedIn(app, "bob", ANN_PASSWORD)
    for url in GET_PAGES:
        assert bob.get(url).status_code == 403, url
    for url, form in POSTS.items():
        assert bob.post(url, form).status_code == 403, url
    anonymous = app.test_client()
    for url in GET_PAGES:
        response = anonymous.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert users.roles_of(site, users.get_user(site, "clerk")["id"]) == {"Administrator"}
    with site.engine.connect() as conn:
        assert conn.execute(site.tables["yiti_permission"].select()).first() is None
    with pytest.raises(Exception, match="eve"):
        users.get_user(site, "eve")
    for url in GET_PAGES:  # and the administrator gets every page
        assert client.get(url).status_code == (302 if url == "/admin/" else 200), url


def test_an_override_changes_lists_api_and_exports_at_once(app, client, library) -> None:
    create_ann(client)
    ann = SignedIn(app, "ann", ANN_PASSWORD)
    assert ann.get("/app/item").status_code == 403
    saved = client.post("/admin/permissions/Employee/item/access",
                        {"actions": ["read", "export"]})
    assert saved.status_code == 302
    listed = ann.get("/app/item").get_data(as_text=True)
    assert "SICP" in listed and "Hammer" in listed

    assert client.post("/admin/permissions/Employee/item/rows",
                       {"rules": "kind = kind"}).status_code == 302
    assert client.post("/admin/permissions/Employee/item/field",
                       {"field": "weight", "access": "hidden"}).status_code == 302
    listed = ann.get("/app/item").get_data(as_text=True)
    assert "SICP" in listed and "Hammer" not in listed
    api = ann.get("/api/v1/item").json["data"]
    assert [row["code"] for row in api] == ["BK-1"] and "weight" not in api[0]
    assert ann.get(f"/api/v1/item/{library['tool']}").status_code == 404
    exported = ann.get("/app/item/export.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(exported)))
    assert len(rows) == 2 and "SICP" in rows[1] and not any("Hammer" in r for r in rows)

    table = client.get("/admin/permissions?role=Employee").get_data(as_text=True)
    assert re.search(r"override #\d+ by clerk", table)
    assert "modules/example/permissions/expenses.yaml:" in table
    edit = client.get("/admin/permissions/Employee/item").get_data(as_text=True)
    assert "records whose kind is the user&#39;s kind" in edit
    assert client.post("/admin/permissions/Employee/item/remove",
                       {"kind": "access"}).status_code == 302
    assert ann.get("/app/item").status_code == 403
    assert ann.get("/api/v1/item").status_code == 403


def test_explain_names_the_rule_that_decided(client, library) -> None:
    create_ann(client)
    page = client.get(f"/admin/explain?user=ann&entity=expense_claim&action=write"
                      f"&id={library['claim']}").get_data(as_text=True)
    assert "Refused" in page and "matches none of the row rules" in page
    assert re.search(r"modules/example/permissions/expenses\.yaml:\d+", page)
    page = client.get("/admin/explain?user=ann&entity=expense_claim&action=create"
                      ).get_data(as_text=True)
    assert "Allowed" in page and "role &#39;Employee&#39; may read create write" in page
    page = client.get("/admin/explain?user=ann&entity=item&action=read").get_data(as_text=True)
    assert "none of ann&#39;s roles (Employee) may read item" in page
    wrong = client.get("/admin/explain?user=nobody&entity=item&action=read&id=x")
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert re.search(r'id="user-error">[^<]*nobody', html)
    assert re.search(r'id="id-error">[^<]*record id', html)


def test_errors_stand_at_their_field(client, site: Site) -> None:
    refused = client.post("/admin/users/new", {"name": "clerk", "password": "short",
                                                "roles": ["Employe"],
                                                "attributes": "store"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'id="attributes-error">[^<]*key=value', html)
    refused = client.post("/admin/users/new", {"name": "dan", "password": "short",
                                                "roles": ["Employe"]})
    html = refused.get_data(as_text=True)
    assert re.search(r'id="password-error">[^<]*at least 8', html)
    refused = client.post("/admin/users/new", {"name": "dan", "password": ANN_PASSWORD,
                                                "roles": ["Employe"]})
    html = refused.get_data(as_text=True)
    assert re.search(r'id="roles-error">[^<]*did you mean &#39;Employee&#39;', html)
    assert 'value="dan"' in html  # what was typed stays
    refused = client.post("/admin/users/new", {"name": "clerk", "password": ANN_PASSWORD})
    assert re.search(r'id="name-error">[^<]*already exists', refused.get_data(as_text=True))
    bad_rule = client.post("/admin/permissions/Employee/item/rows", {"rules": "kidn = kind"})
    assert bad_rule.status_code == 422
    assert 'id="rules-error"' in bad_rule.get_data(as_text=True)
    yourself = client.post("/admin/users/clerk", {"roles": ["Employee"], "enabled": "1"})
    assert yourself.status_code == 422
    assert 'id="roles-error"' in yourself.get_data(as_text=True)
    with site.engine.connect() as conn:
        assert conn.execute(site.tables["yiti_permission"].select()).first() is None


def test_roles_attributes_enabled_and_password(app, client, site: Site) -> None:
    create_ann(client)
    ann = SignedIn(app, "ann", ANN_PASSWORD)
    changed = client.post("/admin/users/ann", {"roles": ["Employee", "TeamLead"],
                                               "attributes": "store=SH-09", "enabled": "1"})
    assert changed.status_code == 302
    row = users.get_user(site, "ann")
    assert row["attributes"] == {"store": "SH-09"}
    assert users.roles_of(site, row["id"]) == {"Employee", "TeamLead"}
    assert ann.get("/app/").status_code == 200
    client.post("/admin/users/ann", {"roles": ["Employee"], "attributes": ""})  # disabled
    assert not users.get_user(site, "ann")["enabled"]
    assert ann.get("/app/expense_claim").status_code == 302  # her session ended
    client.post("/admin/users/ann", {"roles": ["Employee"], "enabled": "1"})
    differ = client.post("/admin/users/ann/password", {"password": "new password 1",
                                                       "confirm": "new password 2"})
    assert differ.status_code == 422 and 'id="confirm-error"' in differ.get_data(as_text=True)
    assert client.post("/admin/users/ann/password", {"password": "new password 1",
                                                     "confirm": "new password 1"}
                       ).status_code == 302
    assert SignedIn(app, "ann", "new password 1").get("/app/").status_code == 200


def test_the_user_pages_set_and_check_the_language(client, site: Site) -> None:
    create_ann(client)
    page = client.get("/admin/users/ann").get_data(as_text=True)
    assert '<option value="zh-CN" selected>' in page  # her language, shown to change
    form = {"roles": ["Employee"], "enabled": "1"}
    assert client.post("/admin/users/ann", {**form, "language": "en"}).status_code == 302
    assert users.get_user(site, "ann")["language"] == "en"
    wrong = client.post("/admin/users/ann", {**form, "roles": ["TeamLead"], "language": "fr"})
    assert wrong.status_code == 422 and 'id="language-error"' in wrong.get_data(as_text=True)
    row = users.get_user(site, "ann")
    assert row["language"] == "en" and users.roles_of(site, row["id"]) == {"Employee"}
    new = client.post("/admin/users/new", {"name": "eve", "password": ANN_PASSWORD,
                                           "language": "fr"})
    assert new.status_code == 422 and 'id="language-error"' in new.get_data(as_text=True)


def test_a_post_without_csrf_is_refused(client, site: Site) -> None:
    response = client.raw.post("/admin/users/new", data={"name": "eve",
                                                         "password": ANN_PASSWORD})
    assert response.status_code == 400
    response = client.raw.post("/admin/permissions/Employee/item/access",
                               data={"actions": "read"})
    assert response.status_code == 400
    with pytest.raises(Exception, match="eve"):
        users.get_user(site, "eve")


def test_a_sensitive_change_needs_a_fresh_sign_in(client, site: Site) -> None:
    with client.raw.session_transaction() as session:
        session["auth_at"] = 0  # signed in long ago
    response = client.post("/admin/users/new", {"name": "eve", "password": ANN_PASSWORD,
                                                "back": "/admin/users/new"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/reauth?next=/admin/users/new"
    with pytest.raises(Exception, match="eve"):
        users.get_user(site, "eve")
    response = client.post("/admin/permissions/Employee/item/access",
                           {"actions": "read", "back": "/admin/permissions/Employee/item"})
    assert response.headers["Location"].startswith("/auth/reauth?next=/admin/permissions/")
    back = client.post("/auth/reauth", {"password": PASSWORD, "next": "/admin/users/new"})
    assert back.headers["Location"] == "/admin/users/new"
    assert client.post("/admin/users/new", {"name": "eve", "password": ANN_PASSWORD}
                       ).status_code == 302


def test_a_hidden_list_column_is_left_out_of_the_list_and_export(client, app, site, library):
    """Hiding a field that is one of the list's columns: the role's list still works."""
    create_ann(client)
    assert client.post("/admin/permissions/Employee/item/access",
                       {"actions": ["read", "export"]}).status_code == 302
    assert client.post("/admin/permissions/Employee/item/field",
                       {"field": "stock", "access": "hidden"}).status_code == 302
    ann = SignedIn(app, "ann", ANN_PASSWORD)
    page = ann.get("/app/item")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "BK-1" in html and "TL-1" in html
    assert "In stock" not in html and "cannot be used" not in html
    export = ann.get("/app/item/export.csv").get_data(as_text=True)
    assert "BK-1" in export and "In stock" not in export.splitlines()[0]
