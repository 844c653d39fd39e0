"""Pack pages (@api.page, /p/<pack>/<path>): templates and static files of the pack,
reading as the Guest role, sign-in and roles, the pack's translations, and the cache of
public pages (headers, server-side hits, never for signed-in users, no CSRF token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from yiti import api
from yiti.definitions import register_kind
from yiti.permissions import users
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app

PACKS = Path(__file__).parent / "packs"
PASSWORD = "shelf-password-1"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    register_kind(PERMISSIONS)
    site = Site(settings_for(db_url, tmp_path, modules=[PACKS], packs=["shelf"]))
    site.migrate()
    site.records().create("gadget", {"code": "G1", "title": "Gizmo <b>", "price": "9.50",
                                     "secret_cost": "1.00"})
    yield site
    site.close()


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return create_app(site=site).test_client()


def sign_in(site: Site, client: FlaskClient, name: str, *roles: str) -> None:
    users.create_user(site, name, PASSWORD, roles=roles)
    page = client.get("/auth/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/auth/login", data={"name": name, "password": PASSWORD,
                                            "csrf_token": token})
    assert done.status_code == 302, done.text


def test_a_public_page_renders_the_pack_template_as_the_guest(client):
    page = client.get("/p/shelf/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Gizmo &lt;b&gt;" in page.text  # autoescaped
    assert '<p class="actor">guest</p>' in page.text
    assert 'src="/p/shelf/static/shelf.js"' in page.text
    nonce = page.text.split('nonce="', 1)[1].split('"', 1)[0]
    assert f"'nonce-{nonce}'" in page.headers["Content-Security-Policy"]
    with client.get("/p/shelf/static/shelf.js") as static:
        assert static.status_code == 200 and b"shelf test pack" in static.data
    assert client.get("/p/shelf/static/../hooks.py").status_code == 404


def test_field_rules_apply_to_the_guest(client):
    page = client.get("/p/shelf/gadget/G1")
    assert "secret_cost" not in page.text and "price" in page.text
    missing = client.get("/p/shelf/gadget/NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.text
    assert missing.headers["Cache-Control"] == "no-store"


def test_public_cached_pages_are_marked_and_kept_on_the_server(site, client):
    first = client.get("/p/shelf/")
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert first.headers["X-Yiti-Cache"] == "miss"
    assert "Accept-Language" in first.headers["Vary"]
    site.records().create("gadget", {"code": "G2", "title": "Widget"})
    again = client.get("/p/shelf/")
    assert again.headers["X-Yiti-Cache"] == "hit" and "Widget" not in again.text
    nonce = again.text.split('nonce="', 1)[1].split('"', 1)[0]
    assert f"'nonce-{nonce}'" in again.headers["Content-Security-Policy"]
    other = client.get("/p/shelf/?sort=x")  # the query is part of the key
    assert other.headers["X-Yiti-Cache"] == "miss" and "Widget" in other.text
    zh = client.get("/p/shelf/", headers={"Accept-Language": "zh-CN"})
    assert zh.headers["X-Yiti-Cache"] == "miss" and "我们的小玩意" in zh.text
    plain = client.get("/p/shelf/fresh")  # no cache_seconds: not shared
    assert plain.headers["Cache-Control"] == "private, no-cache"
    assert "X-Yiti-Cache" not in plain.headers


def test_signed_in_users_are_never_served_or_stored_in_the_cache(site, client):
    client.get("/p/shelf/")
    sign_in(site, client, "sam", "Shopper")
    page = client.get("/p/shelf/")
    assert page.headers["Cache-Control"] == "private, no-cache"
    assert "X-Yiti-Cache" not in page.headers
    assert '<p class="actor">guest</p>' in page.text  # public pages read as the guest


def test_user_pages_need_sign_in_and_the_role(site, client):
    refused = client.get("/p/shelf/mine")
    assert refused.status_code == 302 and "/auth/login" in refused.headers["Location"]
    sign_in(site, client, "sam", "Shopper")
    mine = client.get("/p/shelf/mine")
    assert mine.status_code == 200 and "<p>sam</p>" in mine.text
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert 'name="csrf_token" value="' in mine.text
    other = create_app(site=site).test_client()
    sign_in(site, other, "ned")
    assert other.get("/p/shelf/mine").status_code == 404


def test_a_cached_page_may_not_carry_a_csrf_token(client, caplog):
    assert client.get("/p/shelf/leaky").status_code == 500
    assert "can't carry a CSRF token" in caplog.text


def test_the_language_link_sets_the_cookie(client):
    answer = client.get("/p/_language/zh-CN?next=/p/shelf/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/p/shelf/"
    assert "我们的小玩意" in client.get("/p/shelf/").text
    assert client.get("/p/_language/en?next=//evil.example").headers["Location"] == "/"


def test_the_decorator_refuses_what_cannot_work():
    with pytest.raises(ValueError, match="only public pages may be cached"):
        api.page("x", auth="user", cache_seconds=5)
    with pytest.raises(ValueError, match="reserved"):
        api.page("static/x")
    with pytest.raises(ValueError, match="letters, digits"):
        api.page("a b")
    with pytest.raises(ValueError, match="roles"):
        api.page("x", roles=["Shopper"])
