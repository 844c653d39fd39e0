"""A small server-side cache of rendered public pages: in the process, or in Redis.

Only pages that are the same for every visitor go in (public pack pages with
``cache_seconds``, requested by someone not signed in), keyed by path, query and
language. Each app process has its own in-process cache; with ``REDIS_URL`` the
processes share one in Redis. Entries expire on their own after ``cache_seconds``, so a
price or stock figure on such a page is never older than that.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class CachedPage:
    """A rendered page: its body, status, the CSP nonce its scripts carry, and when it
    was rendered (for ``Age``)."""

    body: bytes
    status: int
    nonce: str
    at: float

    def dumps(self) -> bytes:
        head = json.dumps({"status": self.status, "nonce": self.nonce, "at": self.at})
        return head.encode() + b"\n" + self.body

    @classmethod
    def loads(cls, data: bytes) -> CachedPage:
        head, _, body = data.partition(b"\n")
        meta = json.loads(head)
        return cls(body, int(meta["status"]), str(meta["nonce"]), float(meta["at"]))


class PageCache(Protocol):
    def get(self, key: str) -> CachedPage | None:
        """The page stored under ``key``, if it has not expired."""

    def set(self, key: str, page: CachedPage, seconds: int) -> None:
        """Keep ``page`` under ``key`` for ``seconds``."""


class MemoryCache:
    """A bounded TTL cache in this process (thread-safe; the oldest entry goes first)."""

    def __init__(self, max_entries: int = 2000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, CachedPage]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedPage | None:
        found = self._data.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            with self._lock:
                self._data.pop(key, None)
            return None
        return found[1]

    def set(self, key: str, page: CachedPage, seconds: int) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + seconds, page)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisCache:
    """Pages in Redis under ``yiti:page:<key>``, shared by every app process."""

    prefix = "yiti:page:"

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, key: str) -> CachedPage | None:
        data = self.client.get(self.prefix + key)
        return CachedPage.loads(data) if data else None

    def set(self, key: str, page: CachedPage, seconds: int) -> None:
        self.client.set(self.prefix + key, page.dumps(), ex=seconds)


def cache_for(redis_url: str | None) -> PageCache:
    """Redis when the site has ``REDIS_URL``, else a cache in this process."""
    if redis_url:
        import redis

        return RedisCache(redis.Redis.from_url(redis_url))
    return MemoryCache()
