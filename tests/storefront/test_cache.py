# ruff: noqa: F811 - the fixtures are imported from sfshop and then requested by name
"""The public cache of the storefront (yiti.web.page_cache): a hit runs neither the page
function nor a database statement; a signed-in user or an API token always gets a fresh
answer; languages are separate entries; the product API follows the same rules; and a
price change shows once the cache time has passed (one request renders it again a little
before, while the others are still served the entry)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event

from yiti.permissions import tokens, users
from yiti.web.pack_endpoints import endpoints_of
from yiti.web.pack_pages import pages_of

from .sfshop import add_customer, client, shop, sign_in, site  # noqa: F401 - fixtures

P = "/p/commerce"
X = "/api/v1/x/commerce"


@pytest.fixture
def calls(site, monkeypatch) -> Counter[str]:
    """How often the storefront pages and the product API really ran (a counter of
    ``page`` and ``api``), by wrapping what each of them calls first."""
    counted: Counter[str] = Counter()
    page = next(spec.fn for pack, spec in pages_of(site) if spec.path == "product/<code>")
    api = next(spec.fn for pack, spec in endpoints_of(site)
               if spec.name == "catalogue/product")
    for fn, name, label in ((page, "_channel", "page"), (api, "product_detail", "api")):
        original = fn.__globals__[name]

        def wrapper(*args: Any, _original: Any = original, _label: str = label,
                    **kwargs: Any) -> Any:
            counted[_label] += 1
            return _original(*args, **kwargs)

        monkeypatch.setitem(fn.__globals__, name, wrapper)
    return counted


@pytest.fixture
def statements(site) -> list[str]:
    seen: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        seen.append(statement)

    event.listen(site.engine, "before_cursor_execute", count)
    yield seen
    event.remove(site.engine, "before_cursor_execute", count)


def token_for(site, name: str) -> dict[str, str]:
    ident = users.get_user(site, name)["id"]
    return {"Authorization": f"Bearer {tokens.create_token(site, ident, ('*',))[0]}"}


def test_a_hit_runs_no_page_function_and_no_statement(client, calls, statements):
    first = client.get(f"{P}/product/TEA")
    assert first.headers["X-Yiti-Cache"] == "miss" and calls["page"] == 1
    statements.clear()
    for _ in range(3):
        again = client.get(f"{P}/product/TEA")
        assert again.status_code == 200 and again.headers["X-Yiti-Cache"] == "hit"
        assert again.data == first.data
    assert calls["page"] == 1 and statements == []
    assert again.headers["Cache-Control"] == "public, max-age=5"
    assert again.headers["Content-Type"] == "text/html; charset=utf-8"
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in again.headers["Vary"].split(",")}
    assert again.headers["Age"] == "0"
    # the CSP of the hit allows the nonce of the stored page's scripts, and only that one
    nonce = again.text.split('nonce="', 1)[1].split('"', 1)[0]
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert f"'nonce-{nonce}'" in again.headers["Content-Security-Policy"]
    assert again.headers["X-Frame-Options"] == "DENY"  # the security headers are replayed


def test_signed_in_users_and_tokens_always_get_a_fresh_page(client, site, calls):
    client.get(f"{P}/product/TEA")
    add_customer(site, "ANN")
    bearer = token_for(site, "ann")
    other = client.application.test_client()
    for _ in range(2):
        page = other.get(f"{P}/product/TEA", headers=bearer)
        assert page.headers["Cache-Control"] == "private, no-cache"
        assert "X-Yiti-Cache" not in page.headers
    assert calls["page"] == 3
    sign_in(other, "ann")
    for _ in range(2):
        page = other.get(f"{P}/product/TEA")
        assert page.headers["Cache-Control"] == "private, no-cache"
        assert "X-Yiti-Cache" not in page.headers
    assert calls["page"] == 5
    # what they saw was not stored either: an anonymous visitor still gets the first entry
    assert client.get(f"{P}/product/TEA").headers["X-Yiti-Cache"] == "hit"
    assert calls["page"] == 5


def test_a_session_without_a_user_is_served_from_the_cache(client, calls):
    visitor = client.application.test_client()
    visitor.get("/auth/login")  # a session (for its CSRF token), nobody signed in
    assert visitor.get_cookie("yiti_session") is not None
    answers = [visitor.get(f"{P}/product/TEA") for _ in range(3)]
    # an answer that sets a cookie (here the session's, renewed) is never stored: it
    # would hand this visitor's session to everyone
    for answer in answers:
        if "Set-Cookie" in answer.headers:
            assert answer.headers["X-Yiti-Cache"] == "miss"
    assert answers[-1].headers["X-Yiti-Cache"] == "hit"
    assert "Set-Cookie" not in answers[-1].headers
    assert calls["page"] == sum(a.headers["X-Yiti-Cache"] == "miss" for a in answers) <= 2
    shared = client.get(f"{P}/product/TEA")  # one entry, for visitors with no session too
    assert shared.headers["X-Yiti-Cache"] == "hit" and "Set-Cookie" not in shared.headers
    assert calls["page"] <= 2


def test_each_language_is_its_own_entry(client, calls):
    en = client.get(f"{P}/product/TEA")
    zh = client.get(f"{P}/product/TEA", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.headers["X-Yiti-Cache"] == "miss" and 'lang="zh-CN"' in zh.text
    assert 'lang="en"' in en.text and calls["page"] == 2
    zh_again = client.get(f"{P}/product/TEA", headers={"Accept-Language": "zh-CN"})
    assert zh_again.headers["X-Yiti-Cache"] == "hit" and 'lang="zh-CN"' in zh_again.text
    by_cookie = client.application.test_client()
    by_cookie.get(f"/p/_language/zh-CN?next={P}/")  # the cookie beats Accept-Language
    chosen = by_cookie.get(f"{P}/product/TEA", headers={"Accept-Language": "en"})
    assert chosen.headers["X-Yiti-Cache"] == "hit" and 'lang="zh-CN"' in chosen.text
    assert client.get(f"{P}/product/TEA").text == en.text
    assert calls["page"] == 2


def test_a_refusal_is_never_cached(client, calls):
    for _ in range(2):
        missing = client.get(f"{P}/product/NOPE")
        assert missing.status_code == 404 and "X-Yiti-Cache" not in missing.headers
    assert calls["page"] == 2
    for _ in range(2):
        answer = client.get(f"{X}/catalogue/product?code=NOPE")
        assert answer.status_code == 404 and answer.headers["Cache-Control"] == \
            "private, no-store"
    assert calls["api"] == 2


def test_the_product_api_is_cached_for_anonymous_callers_only(client, site, calls):
    first = client.get(f"{X}/catalogue/product?code=TEA")
    assert first.status_code == 200 and first.headers["X-Yiti-Cache"] == "miss"
    again = client.get(f"{X}/catalogue/product?code=TEA")
    assert again.headers["X-Yiti-Cache"] == "hit" and again.json == first.json
    assert calls["api"] == 1
    assert again.headers["Cache-Control"] == "public, max-age=5"
    assert again.headers["Content-Type"] == "application/json"
    assert {"Authorization", "Accept-Language", "Cookie"} <= {
        v.strip() for v in again.headers["Vary"].split(",")}
    other = client.get(f"{X}/catalogue/product?code=SHOE")  # the query is part of the key
    assert other.headers["X-Yiti-Cache"] == "miss" and other.json["code"] == "SHOE"
    assert calls["api"] == 2
    add_customer(site, "ANN")
    with_token = client.get(f"{X}/catalogue/product?code=TEA", headers=token_for(site, "ann"))
    assert with_token.status_code == 200 and with_token.headers["Cache-Control"] == \
        "private, no-store"
    assert "X-Yiti-Cache" not in with_token.headers and calls["api"] == 3


def test_a_price_change_shows_within_the_cache_time(client, site, shop, calls):
    cache = client.application.extensions["yiti_page_cache"]
    start = cache.clock()
    now = [start]
    cache.clock = lambda: now[0]
    page, api = f"{P}/product/TEA", f"{X}/catalogue/product?code=TEA"
    assert "¥60.00" in client.get(page).text
    assert client.get(api).json["skus"][0]["price"] == "60.00"
    site.records().update("product", shop["TEA"], {"list_price": "70.00"})
    now[0] = start + 3  # within the cache time: the entry, 3 s old
    old = client.get(page)
    assert "¥60.00" in old.text and old.headers["Age"] == "3"
    assert client.get(api).json["skus"][0]["price"] == "60.00"
    now[0] = start + 4.5  # near its end: this request renders it again
    fresh = client.get(page)
    assert fresh.headers["X-Yiti-Cache"] == "miss" and "¥70.00" in fresh.text
    assert "¥60.00" not in fresh.text
    now[0] = start + 5  # gone: rendered again
    assert client.get(api).json["skus"][0]["price"] == "70.00"
    assert calls == Counter(page=2, api=2)


def test_a_hit_is_answered_before_flask_runs(site, shop):
    from yiti.web.app import create_app

    app = create_app(site=site)
    ran: list[str] = []
    app.before_request(lambda: ran.append(app.name) and None)
    browser = app.test_client()
    browser.get(f"{P}/product/TEA")
    browser.get(f"{X}/catalogue/product?code=TEA")
    assert len(ran) == 2
    assert browser.get(f"{P}/product/TEA").headers["X-Yiti-Cache"] == "hit"
    assert browser.get(f"{X}/catalogue/product?code=TEA").headers["X-Yiti-Cache"] == "hit"
    assert len(ran) == 2  # no session opened, no hook run
    browser.get(f"{P}/cart")  # not cached: through Flask as ever
    assert len(ran) == 3


def test_only_public_get_endpoints_may_declare_a_cache():
    from yiti import api

    with pytest.raises(ValueError, match="only public GET endpoints may be cached"):
        api.endpoint("mine", methods=["GET"], cache_seconds=5)  # a user's endpoint
    with pytest.raises(ValueError, match="only public GET endpoints may be cached"):
        api.endpoint("hook", methods=["GET", "POST"], auth="public", cache_seconds=5)
    with pytest.raises(ValueError, match="cache_seconds must be a whole number"):
        api.endpoint("list", methods=["GET"], auth="public", cache_seconds=-1)
    spec = api.endpoint("list", methods=["GET"], auth="public", cache_seconds=5)(
        lambda ctx: {}).__yiti_endpoint__
    assert spec.cache_seconds == 5


def test_an_entry_survives_the_trip_through_redis_with_its_headers():
    from yiti.web.page_cache import CachedPage, RedisCache

    class FakeRedis:  # the two calls RedisCache makes
        def __init__(self) -> None:
            self.data: dict[str, tuple[bytes, int]] = {}

        def get(self, key: str) -> bytes | None:
            return self.data.get(key, (None, 0))[0]

        def set(self, key: str, value: bytes, ex: int) -> None:
            self.data[key] = (value, ex)

    client = FakeRedis()
    cache = RedisCache(client)
    page = CachedPage("<p>¥60.00\n</p>".encode(), 200, 1700000000.5,
                      (("Content-Type", "text/html; charset=utf-8"),
                       ("Content-Security-Policy", "script-src 'nonce-abc'")), 5)
    cache.set("en|http|/p/commerce/?", page, 5)
    assert client.data["yiti:page:en|http|/p/commerce/?"][1] == 5  # Redis expires it
    assert cache.get("en|http|/p/commerce/?") == page
    assert cache.get("zh-CN|http|/p/commerce/?") is None


def test_https_and_http_are_separate_entries(client, calls):
    plain = client.get(f"{P}/product/TEA")
    assert "Strict-Transport-Security" not in plain.headers
    secure = client.get(f"{P}/product/TEA", base_url="https://localhost")
    assert secure.headers["X-Yiti-Cache"] == "miss" and calls["page"] == 2
    assert "Strict-Transport-Security" in secure.headers
    again = client.get(f"{P}/product/TEA", base_url="https://localhost")
    assert again.headers["X-Yiti-Cache"] == "hit"
    assert "Strict-Transport-Security" in again.headers
    assert "Strict-Transport-Security" not in client.get(f"{P}/product/TEA").headers
    assert calls["page"] == 2
