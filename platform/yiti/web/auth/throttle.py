"""Login throttling: failed sign-ins counted per address and per user name.

Counters live in Redis when the site has one (``INCR`` with an expiry), else in the
``yiti_throttle`` table; either way each counter expires at the end of its window, so
the store stays bounded by the number of addresses and names tried in one window.

While Redis does not answer (the app's :class:`~yiti.web.redis_link.RedisLink` refuses
at once after a failure) the counters are kept in the ``yiti_throttle`` table instead
(:class:`FallbackStore`): shared by every app process like Redis, with the same limits,
so an outage neither lifts the brute-force limits nor locks anybody out. The two sets of
counters are not merged when Redis is back, so in a window in which Redis went away and
came back a name or an address may be tried at most twice its limit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, insert, select, update

from yiti.site import Site
from yiti.web.redis_link import RedisLink, Unavailable, as_link

UTC = dt.UTC


@dataclass(frozen=True)
class Limits:
    per_user: int = 5
    per_address: int = 30
    window: int = 15 * 60  # seconds


class Store(Protocol):
    def count(self, key: str) -> tuple[int, int]:
        """(failures in the current window, seconds until it ends)."""

    def hit(self, key: str, window: int) -> None: ...

    def reset(self, key: str) -> None: ...


class RedisStore:
    """Counters in Redis under ``yiti:throttle:<key>`` (``prefix``), through ``link``:
    :class:`~yiti.web.redis_link.Unavailable` when Redis does not answer."""

    prefix = "yiti:throttle:"

    def __init__(self, link: RedisLink | Any) -> None:
        self.link = as_link(link)
        self.client = self.link.client

    def count(self, key: str) -> tuple[int, int]:
        pipe = self.client.pipeline()
        pipe.get(self.prefix + key)
        pipe.ttl(self.prefix + key)
        value, ttl = self.link.call(pipe.execute)
        return int(value or 0), max(int(ttl or 0), 0)

    def hit(self, key: str, window: int) -> None:
        pipe = self.client.pipeline()
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, window, nx=True)
        self.link.call(pipe.execute)

    def reset(self, key: str) -> None:
        self.link.call(self.client.delete, self.prefix + key)


class DatabaseStore:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.table = site.tables["yiti_throttle"]

    def count(self, key: str) -> tuple[int, int]:
        t = self.table
        now = dt.datetime.now(UTC)
        with self.site.engine.connect() as conn:
            row = conn.execute(select(t.c.count, t.c.reset_at).where(t.c.key == key)).first()
        if row is None or row.reset_at <= now:
            return 0, 0
        return row.count, int((row.reset_at - now).total_seconds()) + 1

    def hit(self, key: str, window: int) -> None:
        t = self.table
        now = dt.datetime.now(UTC)
        with self.site.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.reset_at <= now))  # expired: bounded store
            done = conn.execute(update(t).where(t.c.key == key).values(count=t.c.count + 1))
            if done.rowcount == 0:
                conn.execute(insert(t).values(key=key, count=1,
                                              reset_at=now + dt.timedelta(seconds=window)))

    def reset(self, key: str) -> None:
        with self.site.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.key == key))


class FallbackStore:
    """``primary`` (Redis) while it answers, ``fallback`` (the database) while it does
    not: each call goes to whichever answers now."""

    def __init__(self, primary: Store, fallback: Store) -> None:
        self.primary = primary
        self.fallback = fallback

    def count(self, key: str) -> tuple[int, int]:
        try:
            return self.primary.count(key)
        except Unavailable:
            return self.fallback.count(key)

    def hit(self, key: str, window: int) -> None:
        try:
            self.primary.hit(key, window)
        except Unavailable:
            self.fallback.hit(key, window)

    def reset(self, key: str) -> None:
        try:
            self.primary.reset(key)
        except Unavailable:
            self.fallback.reset(key)


class Throttle:
    """Asks before a sign-in is tried, and counts the failures."""

    def __init__(self, store: Store, limits: Limits | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()

    def _keys(self, address: str, name: str) -> list[tuple[str, int]]:
        return [(f"login:addr:{address}", self.limits.per_address),
                (f"login:user:{name.strip().lower()[:140]}", self.limits.per_user)]

    def retry_after(self, address: str, name: str) -> int:
        """Seconds to wait before trying again, or 0 when a try is allowed."""
        wait = 0
        for key, limit in self._keys(address, name):
            count, left = self.store.count(key)
            if count >= limit:
                wait = max(wait, left or 1)
        return wait

    def failed(self, address: str, name: str) -> None:
        for key, _ in self._keys(address, name):
            self.store.hit(key, self.limits.window)

    def succeeded(self, address: str, name: str) -> None:
        self.store.reset(self._keys(address, name)[1][0])


def throttle_for(site: Site, limits: Limits | None = None, link: RedisLink | None = None
                 ) -> Throttle:
    """The site's throttle: in Redis through ``link`` (the database while Redis does not
    answer), or in the database when the site has no Redis."""
    if link is not None:
        return Throttle(FallbackStore(RedisStore(link), DatabaseStore(site)), limits)
    return Throttle(DatabaseStore(site), limits)
