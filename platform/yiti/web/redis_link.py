"""Redis as the app's shared store, guarded: a Redis that fails or stalls never fails or
hangs a request.

With ``REDIS_URL`` the page cache (:mod:`yiti.web.page_cache`), the sessions
(:mod:`yiti.web.auth.sessions`) and the sign-in throttle (:mod:`yiti.web.auth.throttle`)
keep their data in Redis. They reach it through one :class:`RedisLink` per app process
(:func:`app_link`), which

- waits at most :data:`TIMEOUT` for Redis (to connect, or for an answer), and tries a
  broken connection again once at once (Redis restarted), never a stalled one;
- after a failure leaves Redis alone for :data:`RETRY_AFTER` seconds: every call in
  between is refused at once (:class:`Unavailable`), so requests do not each wait for the
  timeout; then one call tries Redis again while the others are still refused;
- logs one warning when an outage starts and one when Redis answers again.

Each caller decides what a refusal means: the page cache renders the page, the sessions
treat the visitor as signed out, the throttle counts in the database.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

log = logging.getLogger(__name__)

#: Seconds a call waits for Redis (to connect, or for an answer) before it gives up: a
#: lookup should take a millisecond.
TIMEOUT = 0.5
#: Seconds Redis is left alone after it failed: calls are refused at once meanwhile.
RETRY_AFTER = 5.0
#: What the app does while Redis is away, for the log.
CONSEQUENCES = ("pages are rendered uncached, sessions cannot be loaded (visitors are "
                "signed out), failed sign-ins are counted in the database")


def retry_after() -> int:
    """Whole seconds to tell a client to wait (``Retry-After``) while Redis is away."""
    return max(1, math.ceil(RETRY_AFTER))


class Unavailable(Exception):
    """Redis failed, or failed lately and is being left alone."""


class RedisLink:
    """A Redis client behind a timeout and a pause after failures (thread-safe).

    ``client`` is a ``redis.Redis`` (or anything with its methods: tests pass fakes);
    :meth:`call` runs one of its methods (``link.call(link.client.get, key)``, or a
    pipeline's ``execute``)."""

    def __init__(self, client: Any, name: str = "Redis") -> None:
        self.client = client
        self.name = name
        self._down_until = 0.0  # on time.monotonic(): failed; left alone until then
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        """Redis failed and has not answered since (whether or not it is left alone
        right now)."""
        return bool(self._down_until)

    def available(self) -> bool:
        """Whether Redis answers: True unless it failed and has not answered since; then
        a ping tells (refused at once while Redis is left alone)."""
        if not self._down_until:
            return True
        try:
            self.call(self.client.ping)
        except Unavailable:
            return False
        return True

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)``; :class:`Unavailable` when Redis fails, or failed
        less than :data:`RETRY_AFTER` seconds ago."""
        from redis import RedisError

        if self._down_until:
            with self._lock:
                now = time.monotonic()
                if now < self._down_until:
                    raise Unavailable(f"{self.name} failed lately")
                self._down_until = now + RETRY_AFTER  # this call tries; others wait
        try:
            result = method(*args, **kwargs)
        except (RedisError, OSError) as error:
            with self._lock:
                if not self._down_until:
                    log.warning("%s failed (%s: %s); until it answers again, %s",
                                self.name, type(error).__name__, error, CONSEQUENCES)
                self._down_until = time.monotonic() + RETRY_AFTER
            raise Unavailable(f"{self.name} failed: {type(error).__name__}") from error
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    log.warning("%s answers again", self.name)
        return result


def as_link(client: RedisLink | Any) -> RedisLink:
    """``client`` as a :class:`RedisLink`: a bare client (a test's fake) is wrapped."""
    return client if isinstance(client, RedisLink) else RedisLink(client)


def link_for(url: str) -> RedisLink:
    """A guarded client of the Redis at ``url``: :data:`TIMEOUT` on every socket, one
    immediate retry of a broken connection, none of a stalled one."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))
    parts = urlsplit(url)
    return RedisLink(client, f"Redis at {parts.hostname or 'localhost'}:{parts.port or 6379}")


def app_link(app: Flask) -> RedisLink | None:
    """The app's link to the site's ``REDIS_URL`` (made once, shared by the page cache,
    the sessions and the throttle), or None when the site has no Redis."""
    if "yiti_redis" not in app.extensions:
        url = app.extensions["yiti"].settings.redis_url
        app.extensions["yiti_redis"] = link_for(url) if url else None
    return app.extensions["yiti_redis"]
