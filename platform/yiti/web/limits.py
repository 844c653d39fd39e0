"""A bound on how many writing requests of a process run at once (DESIGN principle 5).

On a hot row (a flash-sale SKU) more concurrent transactions make the database slower,
not faster. Writing pack endpoints therefore take a slot before they start their
transaction; a request that finds none free within ``wait`` seconds is answered at once
with ``429 Too Many Requests`` and ``Retry-After``, so under a burst the server sheds
load clearly instead of queueing until clients time out.

``YITI_WRITE_SLOTS`` (per process; default half the database pool, at least 2) and
``YITI_WRITE_WAIT`` (seconds, default 0.5) set it, from the app config or the environment.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask


class Overloaded(Exception):
    """No write slot came free in time."""


class WriteLimiter:
    """At most ``slots`` writers at once; others wait up to ``wait`` seconds."""

    def __init__(self, slots: int, wait: float) -> None:
        if slots < 1:
            raise ValueError(f"YITI_WRITE_SLOTS must be at least 1, not {slots}")
        self.slots = slots
        self.wait = wait
        self._semaphore = threading.BoundedSemaphore(slots)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the block; :class:`Overloaded` when none comes free in time."""
        if not self._semaphore.acquire(timeout=self.wait):
            raise Overloaded
        try:
            yield
        finally:
            self._semaphore.release()


def limiter_for(app: Flask) -> WriteLimiter:
    """The app's limiter, made on first use from its config or the environment."""
    found = app.extensions.get("yiti_write_limiter")
    if found is None:
        site = app.extensions["yiti"]
        pool = getattr(site.engine.pool, "size", None)
        default = max(2, pool() // 2) if callable(pool) else 2
        slots = int(app.config.get("YITI_WRITE_SLOTS") or os.environ.get("YITI_WRITE_SLOTS")
                    or default)
        wait = float(app.config.get("YITI_WRITE_WAIT") or os.environ.get("YITI_WRITE_WAIT")
                     or 0.5)
        found = app.extensions["yiti_write_limiter"] = WriteLimiter(slots, wait)
    return found
