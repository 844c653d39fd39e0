"""An app over a site with the example packs and the library_roles test pack.

``make_user(name, *roles, **attributes)`` creates a user and returns an API token
(scope ``*``); ``signed_in(client, name)`` signs a test client in through the login form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.permissions import tokens, users
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app

PACKS = PROJECT_ROOT / "tests" / "permissions" / "packs"
OWN_PACKS = Path(__file__).parent / "packs"


@pytest.fixture(autouse=True)
def permissions_kind() -> None:
    """Another suite's test may have unregistered the kind (tests/definitions replaces it
    temporarily and deletes it afterwards): register ours again."""
    register_kind(PERMISSIONS)


def migrated(db_url: str, tmp_path: Path, modules: list[Path],
             packs: list[str] | None = None) -> Iterator[Site]:
    """A site over ``modules`` (the project's own first) and ``packs``, migrated; closed
    afterwards. For a ``site`` fixture: ``yield from migrated(...)``."""
    site = Site(settings_for(db_url, tmp_path, modules=[PROJECT_ROOT / "modules", *modules],
                             packs=packs))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from migrated(db_url, tmp_path, [PACKS])


@pytest.fixture
def doc(client: FlaskClient) -> dict:
    """The OpenAPI document the app serves."""
    return client.get("/api/v1/openapi.json").json


@pytest.fixture
def app(site: Site) -> Flask:
    return create_app(site=site)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(site: Site):  # noqa: ANN201
    def make(name: str, *roles: str, scopes: tuple[str, ...] = ("*",),
             **attributes: object) -> dict[str, str]:
        ident = users.create_user(site, name, f"{name}-password", roles=roles,
                                  attributes=attributes)
        token, _ = tokens.create_token(site, ident, scopes)
        return {"Authorization": f"Bearer {token}"}

    return make


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, name: str, password: str | None = None) -> dict[str, str]:
    """Sign in through the form; returns the X-CSRFToken header for JSON calls."""
    page = client.get("/auth/login")
    response = client.post("/auth/login", data={
        "name": name, "password": password or f"{name}-password",
        "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)
    return {"X-CSRFToken": client.get("/api/v1/_me").json["csrf_token"]}


@pytest.fixture(name="sign_in")
def sign_in_fixture():  # noqa: ANN201
    """``sign_in(client, name, password=None)`` → the X-CSRFToken header."""
    return sign_in


@pytest.fixture(name="csrf_from")
def csrf_from_fixture():  # noqa: ANN201
    """``csrf_from(html)`` → the form's CSRF token."""
    return csrf_from


@pytest.fixture
def library(site: Site) -> dict[str, int]:
    """A group, two contacts in different groups, and items of two kinds (as the system)."""
    records = site.records()
    g1 = records.create("contact_group", {"code": "G1", "title": "Group one"})["id"]
    g2 = records.create("contact_group", {"code": "G2", "title": "Group two"})["id"]
    c1 = records.create("contact", {"full_name": "Ann One", "group": g1,
                                    "credit_limit": "100.00", "email": "ann@example.com"})
    c2 = records.create("contact", {"full_name": "Bob Two", "group": g2,
                                    "credit_limit": "999.00", "email": "bob@example.com"})
    book = records.create("item", {"code": "BOOK-1", "title": "A book", "kind": "book",
                                   "deposit": "12.50"})
    tool = records.create("item", {"code": "TOOL-1", "title": "A drill", "kind": "tool"})
    return {"g1": g1, "g2": g2, "c1": c1["id"], "c2": c2["id"], "book": book["id"],
            "tool": tool["id"]}
