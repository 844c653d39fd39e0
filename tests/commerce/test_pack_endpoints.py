"""Pack API endpoints (@api.endpoint, /api/v1/x/<pack>/<name>): auth, roles, CSRF,
one transaction, problem+json errors and Idempotency-Key, with a small test pack."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.permissions import users
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for

from .conftest import token_for

PACKS = Path(__file__).parent / "packs"
BASE = "/api/v1/x/echo"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    register_kind(PERMISSIONS)
    site = Site(settings_for(db_url, tmp_path, modules=[PROJECT_ROOT / "modules", PACKS],
                             packs=["echo"]))
    site.migrate()
    yield site
    site.close()


def notes(site: Site) -> int:
    return site.records().count("note").value


def test_a_user_endpoint_needs_a_caller_and_acts_as_them(site, client):
    refused = client.get(f"{BASE}/notes/count")
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert refused.json["code"] == "unauthorized"
    # a write without a token is refused before anything else, as in /api/v1 (CSRF)
    assert client.post(f"{BASE}/notes/add", json={"text": "hi"}).status_code == 403
    ok = client.post(f"{BASE}/notes/add", json={"text": "hi"},
                     headers=token_for(site, "ann", "Writer"))
    assert ok.status_code == 201 and ok.json["user"] == "ann"
    assert ok.headers["Cache-Control"] == "private, no-store"
    assert site.records().get("note", ok.json["id"])["created_by"] == "ann"


def test_roles_hide_an_endpoint_from_everyone_else(site, client):
    assert client.get(f"{BASE}/staff-only", headers=token_for(site, "bob")).status_code == 404
    assert client.get(f"{BASE}/staff-only",
                      headers=token_for(site, "sue", "Staff")).json == {"ok": True}
    admin = token_for(site, "root", "Administrator")
    assert client.get(f"{BASE}/staff-only", headers=admin).status_code == 200


def test_unknown_endpoints_and_methods_are_problems(site, client):
    assert client.get(f"{BASE}/nope").json["code"] == "not_found"
    wrong = client.get(f"{BASE}/notes/add", headers=token_for(site, "ann", "Writer"))
    assert wrong.status_code == 405 and wrong.json["code"] == "method_not_allowed"


def test_a_refusal_or_an_error_changes_nothing(site, client):
    headers = token_for(site, "ann", "Writer")
    refused = client.post(f"{BASE}/notes/refuse", json={}, headers=headers)
    assert refused.status_code == 409 and refused.json == {"refused": True}
    failed = client.post(f"{BASE}/notes/fail", json={}, headers=headers)
    assert failed.status_code == 409 and failed.json["detail"] == "no, thank you"
    assert notes(site) == 0


def test_validation_errors_name_the_field(site, client):
    response = client.post(f"{BASE}/notes/add", data="not json",
                           headers={**token_for(site, "ann", "Writer"), "Content-Type": "text/plain"})
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "body"


def test_idempotency_key_replays_the_first_answer(site, client):
    headers = {**token_for(site, "ann", "Writer"), "Idempotency-Key": "k-1"}
    first = client.post(f"{BASE}/notes/add", json={"text": "once"}, headers=headers)
    again = client.post(f"{BASE}/notes/add", json={"text": "once"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json and notes(site) == 1
    other = client.post(f"{BASE}/notes/add", json={"text": "twice"}, headers=headers)
    assert other.status_code == 422 and other.json["code"] == "idempotency_mismatch"
    assert notes(site) == 1


def test_sessions_need_csrf_but_public_endpoints_take_no_identity(site, client):
    users.create_user(site, "ann", "ann-password-1", roles=["Writer"])
    page = client.get("/auth/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = client.post("/auth/login", data={"name": "ann", "password": "ann-password-1",
                                              "csrf_token": csrf})
    assert signed.status_code == 302
    no_token = client.post(f"{BASE}/notes/add", json={"text": "x"})
    assert no_token.status_code == 403 and no_token.json["code"] == "csrf"
    token = client.get("/api/v1/_me").json["csrf_token"]
    ok = client.post(f"{BASE}/notes/add", json={"text": "x"}, headers={"X-CSRFToken": token})
    assert ok.status_code == 201
    # the session is ignored by a public endpoint: no CSRF needed, and no user either
    public = client.post(f"{BASE}/public/ping", data=b"raw body")
    assert public.status_code == 200
    assert public.json == {"user": None, "body": "raw body"}
    assert notes(site) == 2


def test_duplicate_endpoints_are_refused_at_start(site, monkeypatch):
    import sys

    from yiti import api
    from yiti.web import pack_endpoints

    module = sys.modules["yiti_packs.echo.hooks"]
    monkeypatch.setattr(module, "again", api.endpoint("notes/add")(lambda ctx: {}),
                        raising=False)
    with pytest.raises(ValueError, match="declared twice"):
        pack_endpoints.endpoints_of(site)


def test_bad_declarations_say_how_to_fix_them():
    from yiti import api

    with pytest.raises(ValueError, match="auth must be"):
        api.endpoint("x", auth="anyone")
    with pytest.raises(ValueError, match="public endpoint"):
        api.endpoint("x", auth="public", roles=["Staff"])
    with pytest.raises(ValueError, match="segments"):
        api.endpoint("a//b")
