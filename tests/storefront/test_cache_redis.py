# ruff: noqa: F811 - the fixtures are imported (sfshop, redis_helpers), then requested by name
"""The public cache of the storefront on a real Redis (``REDIS_URL``), as several app
servers share it: an entry one server rendered is served by another; nobody is served an
entry older than its ``cache_seconds``; an answer that sets a cookie or is not a 200 is
never stored; language, path and query are separate entries; and when Redis goes away
(or stops answering) the pages are rendered, never a 500.

Redis is the one at ``YITI_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``); each
test keeps its keys under a prefix of its own and deletes them afterwards. Without a
reachable Redis the tests skip, saying so (tests/redis_helpers.py).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask, request
from flask.testing import FlaskClient

from yiti.site import Site
from yiti.web import page_cache, redis_link
from yiti.web.app import create_app

from ..redis_helpers import REDIS_URL, prefix, proxy, redis_client  # noqa: F401 - fixtures
from .sfshop import shop, site  # noqa: F401 - fixtures
from .test_cache import calls  # noqa: F401 - fixture

P = "/p/commerce"
X = "/api/v1/x/commerce"
FRESH = 5  # the storefront's cache_seconds (commerce hooks/storefront.py FRESH)

pytestmark = pytest.mark.usefixtures("redis_client")  # first: skip before building a shop


@pytest.fixture
def servers(site, shop, prefix: str) -> Iterator[Callable[..., FlaskClient]]:  # noqa: F811
    """``servers(url=REDIS_URL)``: a new app server over the shop's database with
    ``REDIS_URL`` set, as another process would be (its own site and app), keeping its
    page cache and sessions under this test's prefix."""
    made: list[Site] = []

    def start(url: str = REDIS_URL) -> FlaskClient:
        server = Site(dataclasses.replace(site.settings, redis_url=url))
        made.append(server)
        app = create_app(site=server)
        cache = app.extensions["yiti_page_cache"]
        assert isinstance(cache, page_cache.RedisCache), "REDIS_URL gives the Redis cache"
        cache.prefix = f"{prefix}page:"
        app.session_interface.key_prefix = f"{prefix}session:"  # type: ignore[attr-defined]
        return app.test_client()

    yield start
    for server in made:
        server.close()


def stored(client: redis.Redis, prefix: str) -> dict[str, page_cache.CachedPage]:
    """The pages kept under ``prefix``, by cache key."""
    start = f"{prefix}page:"
    return {key.decode()[len(start):]: page_cache.CachedPage.loads(client.get(key))
            for key in client.scan_iter(match=f"{start}*", count=1000)}


def test_an_entry_one_server_rendered_is_served_by_another(
        servers, calls, redis_client, prefix):
    one, two = servers(), servers()
    first = one.get(f"{P}/product/TEA")
    assert first.status_code == 200 and first.headers["X-Yiti-Cache"] == "miss"
    api = one.get(f"{X}/catalogue/product?code=TEA")
    assert api.headers["X-Yiti-Cache"] == "miss"
    assert calls == Counter(page=1, api=1)
    page = two.get(f"{P}/product/TEA")
    assert page.headers["X-Yiti-Cache"] == "hit" and page.data == first.data
    # the headers as stored: the CSP allows the nonce of the stored page's scripts
    assert page.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == f"public, max-age={FRESH}"
    assert 0 <= int(page.headers["Age"]) <= FRESH
    again = two.get(f"{X}/catalogue/product?code=TEA")
    assert again.headers["X-Yiti-Cache"] == "hit" and again.json == api.json
    assert calls == Counter(page=1, api=1)  # neither ran again on the second server
    keys = stored(redis_client, prefix)
    assert set(keys) == {"en|http|/p/commerce/product/TEA?",
                         "en|http|/api/v1/x/commerce/catalogue/product?code=TEA"}
    for key in keys:  # Redis itself drops them after cache_seconds
        assert 0 < redis_client.pttl(f"{prefix}page:{key}") <= FRESH * 1000


def test_nobody_is_served_an_entry_older_than_cache_seconds(
        servers, site, shop, calls, redis_client, prefix):  # noqa: F811
    one, two = servers(), servers()
    page = f"{P}/product/TEA"
    assert "¥60.00" in one.get(page).text
    rendered = time.monotonic()  # the entry was stored before this
    site.records().update("product", shop["TEA"], {"list_price": "70.00"})
    served: list[tuple[float, str, int]] = []  # (seconds after the render, price, Age)
    while time.monotonic() - rendered < FRESH + 1.5:
        for server in (one, two):
            answer = server.get(page)
            assert answer.status_code == 200
            price = "70.00" if "¥70.00" in answer.text else "60.00"
            served.append((time.monotonic() - rendered, price,
                           int(answer.headers.get("Age", 0))))
        time.sleep(0.05)
    old = [at for at, price, _ in served if price == "60.00"]
    assert old and old[0] < 1  # the entry was served after the change (it is a cache)
    assert max(old) <= FRESH, f"the old price was served {max(old):.2f} s after its render"
    assert all(age <= FRESH for _, _, age in served)
    assert all(price == "70.00" for at, price, _ in served if at > FRESH)
    # one server rendered it again a little before its end, the other one kept serving
    assert 2 <= calls["page"] <= 4


def test_an_answer_that_sets_a_cookie_or_is_not_200_is_not_stored(
        servers, calls, redis_client, prefix):
    one, two = servers(), servers()

    def track(app: Flask) -> None:
        @app.after_request
        def utm(response: Any) -> Any:  # as a site's marketing cookie would
            if request.args.get("utm_source"):
                response.set_cookie("utm_source", request.args["utm_source"])
            return response

    track(one.application)
    track(two.application)
    for server in (one, two, one):
        tagged = server.get(f"{P}/product/TEA?utm_source=wechat")
        assert tagged.status_code == 200 and "utm_source=wechat" in tagged.headers["Set-Cookie"]
        missing = server.get(f"{P}/product/NOPE")
        assert missing.status_code == 404 and "X-Yiti-Cache" not in missing.headers
        refused = server.get(f"{X}/catalogue/product?code=NOPE")
        assert refused.status_code == 404
    assert calls == Counter(page=6, api=3)  # every one of them rendered
    assert stored(redis_client, prefix) == {}
    # a visitor's session cookie is never handed to the others either
    visitor = servers()
    visitor.get("/auth/login")  # a session, nobody signed in
    for _ in range(2):
        visitor.get(f"{P}/product/TEA")
    for page in stored(redis_client, prefix).values():
        assert page.status == 200
        assert not any(k.lower() == "set-cookie" for k, _ in page.headers)
    shared = two.get(f"{P}/product/TEA")
    assert shared.headers["X-Yiti-Cache"] == "hit" and "Set-Cookie" not in shared.headers


def test_language_path_and_query_are_separate_entries(servers, calls, redis_client, prefix):
    one, two = servers(), servers()
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    requests: list[tuple[str, dict[str, str]]] = [
        (f"{P}/product/TEA", {}), (f"{P}/product/TEA", zh), (f"{P}/product/SHOE", {}),
        (f"{X}/catalogue/product?code=TEA", {}), (f"{X}/catalogue/product?code=SHOE", {}),
        (f"{X}/catalogue/product?code=TEA&channel=WECHAT", {})]
    first = [one.get(url, headers=headers) for url, headers in requests]
    assert all(a.headers["X-Yiti-Cache"] == "miss" for a in first)
    assert len(stored(redis_client, prefix)) == len(requests)
    again = [two.get(url, headers=headers) for url, headers in requests]
    assert all(a.headers["X-Yiti-Cache"] == "hit" for a in again)
    assert [a.data for a in again] == [a.data for a in first]
    assert 'lang="en"' in again[0].text and 'lang="zh-CN"' in again[1].text
    assert "Longjing tea" in again[0].text and "Running shoe" in again[2].text
    assert again[3].json["code"] == "TEA" and again[4].json["code"] == "SHOE"
    assert again[3].json["skus"][0]["price"] == "60.00"
    assert again[5].json["skus"][0]["price"] == "55.00"  # the WeChat mall's price
    assert calls == Counter(page=3, api=3)


def test_when_redis_goes_away_the_pages_are_rendered(servers, calls, proxy, monkeypatch):
    monkeypatch.setattr(redis_link, "RETRY_AFTER", 0.3)
    server = servers(proxy.url)
    page, api = f"{P}/product/TEA", f"{X}/catalogue/product?code=TEA"
    assert server.get(page).headers["X-Yiti-Cache"] == "miss"
    assert server.get(page).headers["X-Yiti-Cache"] == "hit"
    # Redis stops answering: the server waits a moment, then renders (no hang, no 500)
    proxy.stalled.set()
    started = time.monotonic()
    slow = server.get(api)
    assert slow.status_code == 200 and slow.json["code"] == "TEA"
    assert time.monotonic() - started < 2
    proxy.cut()  # Redis goes away: every answer is rendered
    for _ in range(3):
        answer = server.get(page)
        assert answer.status_code == 200 and "¥60.00" in answer.text
        assert answer.headers.get("X-Yiti-Cache") != "hit"
        assert server.get(api).status_code == 200
        time.sleep(0.2)
    assert calls["page"] == 4 and calls["api"] == 4
    # once Redis is back (and the pause after a failure is over), the cache is used again
    proxy.restore()
    time.sleep(0.35)
    assert server.get(page).headers["X-Yiti-Cache"] == "hit"  # still younger than 5 s
    shoe = f"{P}/product/SHOE"
    assert server.get(shoe).headers["X-Yiti-Cache"] == "miss"
    assert server.get(shoe).headers["X-Yiti-Cache"] == "hit"
    assert calls["page"] == 5
