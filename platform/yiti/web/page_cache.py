"""A small server-side cache of public answers (pages and GET endpoints): in the process,
or in Redis.

Only answers that are the same for every visitor go in: public pack pages and public GET
endpoints that declare ``cache_seconds``, requested by someone not signed in and without
an API token, answered 200 without setting a cookie. They are keyed by language, path and
query. Each app process has its own in-process cache; with ``REDIS_URL`` the processes
share one in Redis. Entries expire on their own after ``cache_seconds``, so a price or
stock figure in such an answer is never older than that. A Redis that fails or stalls
never fails a request: the answer is rendered, as if nothing were cached
(:class:`RedisCache`, through :mod:`yiti.web.redis_link`).

:class:`CacheMiddleware` wraps the Flask app (WSGI): it stores the answers the views mark
with :func:`share` exactly as they left the app (every header, the CSP with the nonce the
page's scripts carry), and serves a GET that carries neither a session cookie nor an
``Authorization`` header straight from the cache, before Flask, the session or any
``before_request`` runs. A request with a session cookie goes through Flask: the view
looks the answer up itself once it knows nobody is signed in (:func:`lookup`). Shortly
before an entry expires, one request of the process renders it again while the others
are still served the entry, so visitors do not all wait for a render at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, Response, current_app, request, session
from werkzeug.http import parse_cookie

from yiti.web.auth.identity import bearer_token
from yiti.web.redis_link import RedisLink, Unavailable, app_link, as_link
from yiti.web.ui.i18n import COOKIE, current_language, language_for

#: Headers never replayed from the cache: they are the connection's or the moment's.
_SKIP = frozenset({"age", "date", "x-yiti-cache", "connection", "keep-alive",
                   "transfer-encoding"})
#: Share of an entry's lifetime after which one request renders it again.
REFRESH_AT = 0.8
#: The environ keys the views and the middleware talk through.
LOOKED = "yiti.cache.looked"
STORE = "yiti.cache.store"


@dataclass(frozen=True)
class CachedPage:
    """An answer as it left the app: body, status, headers (among them the CSP naming the
    nonce the body's scripts carry), when it was made (``at``, on the cache's clock) and
    for how long it is kept."""

    body: bytes
    status: int
    at: float
    headers: tuple[tuple[str, str], ...]
    seconds: int

    def dumps(self) -> bytes:
        head = json.dumps({"status": self.status, "at": self.at, "headers": self.headers,
                           "seconds": self.seconds})
        return head.encode() + b"\n" + self.body

    @classmethod
    def loads(cls, data: bytes) -> CachedPage:
        head, _, body = data.partition(b"\n")
        meta = json.loads(head)
        return cls(body, int(meta["status"]), float(meta["at"]),
                   tuple((str(k), str(v)) for k, v in meta["headers"]), int(meta["seconds"]))


class PageCache(Protocol):
    #: The clock ``CachedPage.at`` is on (seconds).
    clock: Callable[[], float]

    def get(self, key: str) -> CachedPage | None:
        """The page stored under ``key``, if it has not expired."""

    def set(self, key: str, page: CachedPage, seconds: int) -> None:
        """Keep ``page`` under ``key`` for ``seconds``."""


class MemoryCache:
    """A bounded TTL cache in this process (thread-safe; the oldest entry goes first).

    Its clock is monotonic (a change of the system time does not keep pages longer);
    tests may replace ``clock`` to let time pass."""

    def __init__(self, max_entries: int = 2000) -> None:
        self.max_entries = max_entries
        self.clock: Callable[[], float] = time.monotonic
        self._data: OrderedDict[str, tuple[float, CachedPage]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedPage | None:
        found = self._data.get(key)
        if found is None:
            return None
        if found[0] <= self.clock():
            with self._lock:
                self._data.pop(key, None)
            return None
        return found[1]

    def set(self, key: str, page: CachedPage, seconds: int) -> None:
        with self._lock:
            self._data[key] = (page.at + seconds, page)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisCache:
    """Pages in Redis under ``yiti:page:<key>`` (``prefix``), shared by every app process.

    Redis expires each entry after its ``seconds``. The cache never fails a request: it
    reaches Redis through a :class:`~yiti.web.redis_link.RedisLink` (a client, e.g. a
    test's fake, is wrapped in one), and when Redis refuses, resets, does not answer
    within the link's timeout or failed lately, a lookup is a miss and a store is
    skipped, so pages are rendered as if nothing were cached until it is back."""

    prefix = "yiti:page:"

    def __init__(self, link: RedisLink | Any, prefix: str | None = None) -> None:
        self.link = as_link(link)
        self.client = self.link.client
        if prefix is not None:
            self.prefix = prefix
        self.clock: Callable[[], float] = time.time  # shared by processes: the wall clock

    def get(self, key: str) -> CachedPage | None:
        data = self._call(self.client.get, self.prefix + key)
        return CachedPage.loads(data) if data else None

    def set(self, key: str, page: CachedPage, seconds: int) -> None:
        self._call(self.client.set, self.prefix + key, page.dumps(), ex=seconds)

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` on Redis; None when Redis fails or failed lately."""
        try:
            return self.link.call(method, *args, **kwargs)
        except Unavailable:
            return None


def cache_for(link: RedisLink | None) -> PageCache:
    """Redis when the site has ``REDIS_URL`` (the app's ``link``), else a cache in this
    process."""
    return RedisCache(link) if link is not None else MemoryCache()


def cache_key(environ: dict[str, Any], lang: str) -> str:
    """The key of a request's answer: its language, path and query, as the server sent
    them (the pack is the path's second segment), and the scheme, since an answer over
    HTTPS carries headers (``Strict-Transport-Security``) one over HTTP must not."""
    return (f"{lang}|{environ.get('wsgi.url_scheme', 'http')}|"
            f"{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}")


def install(app: Flask, prefixes: Iterable[str]) -> PageCache:
    """The app's cache (made once, ``app.extensions["yiti_page_cache"]``), with the
    middleware in front of the app answering from it for paths under ``prefixes``."""
    middleware = app.extensions.get("yiti_cache_middleware")
    if middleware is None:
        cache = cache_for(app_link(app))
        middleware = CacheMiddleware(app.wsgi_app, cache, identity_cookies=(
            app.config.get("SESSION_COOKIE_NAME") or "session",
            app.config.get("REMEMBER_COOKIE_NAME") or "remember_token"))
        app.wsgi_app = middleware  # type: ignore[method-assign]
        app.extensions["yiti_cache_middleware"] = middleware
        app.extensions["yiti_page_cache"] = cache
    middleware.prefixes = tuple(sorted({*middleware.prefixes, *prefixes}))
    return middleware.cache


def page_cache() -> PageCache:
    """The current app's cache."""
    return current_app.extensions["yiti_page_cache"]


def anonymous() -> bool:
    """No API token and nobody signed in (a session without a user is anonymous)."""
    return bearer_token() is None and not session.get("_user_id")


def lookup(cache: PageCache, key: str) -> CachedPage | None:
    """The cached answer for a view of an anonymous request (one with a session cookie
    but nobody signed in), unless the middleware already looked."""
    if request.environ.get(LOOKED):
        return None
    return cache.get(key)


def shared_key(seconds: int) -> str:
    """The key under which this request's answer may be shared for ``seconds``
    (:func:`cache_key`); "" when it may not: nothing declared, or a caller with an
    identity (a token, or somebody signed in)."""
    if not seconds or not anonymous():
        return ""
    return cache_key(request.environ, current_language())


def cached_response(key: str) -> Response | None:
    """For a view: the answer kept under ``key`` (from :func:`shared_key`), if any."""
    hit = lookup(page_cache(), key) if key else None
    return hit_response(page_cache(), hit) if hit is not None else None


def mark_shared(response: Response, seconds: int) -> Response:
    """The headers of an answer rendered to be shared: public for ``seconds``, a miss,
    and varying with what the key holds besides the URL (language) or rules it out
    (cookies)."""
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    response.headers["X-Yiti-Cache"] = "miss"
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def share(key: str, seconds: int) -> None:
    """Ask the middleware to keep this request's answer under ``key`` for ``seconds``
    (if it is a 200 that sets no cookie), with its headers: the CSP header names the same
    nonce as the body's scripts, so a hit replays both."""
    request.environ[STORE] = (key, seconds)


def replay(cache: PageCache, hit: CachedPage) -> tuple[str, list[tuple[str, str]]]:
    """The status line and headers of a hit: as stored, with its ``Age``."""
    headers = [(k, v) for k, v in hit.headers if k.lower() not in _SKIP]
    headers += [("Age", str(max(int(cache.clock() - hit.at), 0))), ("X-Yiti-Cache", "hit")]
    return f"{hit.status} {_REASONS.get(hit.status, '')}".rstrip(), headers


def hit_response(cache: PageCache, hit: CachedPage) -> Response:
    """A hit as a Flask response (for a view)."""
    _, headers = replay(cache, hit)
    return Response(hit.body, hit.status, headers=headers)


_REASONS = {200: "OK"}


class CacheMiddleware:
    """Answers anonymous GETs under ``prefixes`` from the cache; stores what views share."""

    def __init__(self, app: Callable[..., Iterable[bytes]], cache: PageCache,
                 identity_cookies: tuple[str, ...]) -> None:
        self.app = app
        self.cache = cache
        self.prefixes: tuple[str, ...] = ()
        self.identity_cookies = identity_cookies
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        refresh = None
        if environ.get("REQUEST_METHOD") == "GET" and self._anonymous(environ) \
                and environ.get("PATH_INFO", "").startswith(self.prefixes):
            key = cache_key(environ, self._language(environ))
            hit = self.cache.get(key)
            environ[LOOKED] = True
            if hit is not None:
                if self.cache.clock() - hit.at < hit.seconds * REFRESH_AT \
                        or not self._claim(key):
                    status, headers = replay(self.cache, hit)
                    start_response(status, headers)
                    return [hit.body]
                refresh = key  # this request renders it again; the others get the entry
        try:
            return self._run(environ, start_response)
        finally:
            if refresh is not None:
                with self._lock:
                    self._refreshing.discard(refresh)

    def _run(self, environ: dict[str, Any], start_response: Callable[..., Any]
             ) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                    ) -> Callable[[bytes], Any]:
            if environ.get(STORE) is None or not status.startswith("200 ") or any(
                    k.lower() == "set-cookie" for k, _ in headers):
                return start_response(status, headers, exc_info)
            captured[:] = [status, headers, exc_info]
            return lambda data: None  # Flask never writes: it returns its body

        body = self.app(environ, capture)
        if not captured:
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        status, headers, exc_info = captured
        key, seconds = environ[STORE]
        self.cache.set(key, CachedPage(data, int(status[:3]), self.cache.clock(),
                                       tuple((k, v) for k, v in headers), seconds), seconds)
        start_response(status, headers, exc_info)
        return [data]

    def _anonymous(self, environ: dict[str, Any]) -> bool:
        if environ.get("HTTP_AUTHORIZATION"):
            return False
        raw = environ.get("HTTP_COOKIE")
        if not raw:
            return True
        cookies = parse_cookie(raw)
        environ["yiti.cookies"] = cookies
        return not any(name in cookies for name in self.identity_cookies)

    @staticmethod
    def _language(environ: dict[str, Any]) -> str:
        cookies = environ.get("yiti.cookies") or {}
        return language_for(cookies.get(COOKIE), environ.get("HTTP_ACCEPT_LANGUAGE"))

    def _claim(self, key: str) -> bool:
        with self._lock:
            if key in self._refreshing:
                return False
            self._refreshing.add(key)
            return True
