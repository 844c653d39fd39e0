"""Login throttling: failed sign-ins counted per address and per user name.

Counters live in Redis when the site has one (``INCR`` with an expiry), else in the
``yiti_throttle`` table; either way each counter expires at the end of its window, so
the store stays bounded by the number of addresses and names tried in one window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, insert, select, update

from yiti.site import Site

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
    def __init__(self, client: Any) -> None:
        self.client = client

    def count(self, key: str) -> tuple[int, int]:
        pipe = self.client.pipeline()
        pipe.get(f"yiti:throttle:{key}")
        pipe.ttl(f"yiti:throttle:{key}")
        value, ttl = pipe.execute()
        return int(value or 0), max(int(ttl or 0), 0)

    def hit(self, key: str, window: int) -> None:
        pipe = self.client.pipeline()
        pipe.incr(f"yiti:throttle:{key}")
        pipe.expire(f"yiti:throttle:{key}", window, nx=True)
        pipe.execute()

    def reset(self, key: str) -> None:
        self.client.delete(f"yiti:throttle:{key}")


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


def throttle_for(site: Site, limits: Limits | None = None) -> Throttle:
    if site.settings.redis_url:
        import redis

        return Throttle(RedisStore(redis.Redis.from_url(site.settings.redis_url)), limits)
    return Throttle(DatabaseStore(site), limits)
