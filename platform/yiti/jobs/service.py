"""The job layer of one site: enqueue after commit, dispatch, sweep, cancel and retry.

``enqueue`` writes a ``yiti_job`` row in the caller's transaction (the outbox) and hands
the job to the queue only once that transaction commits; a job enqueued in a transaction
that rolls back never exists. The sweeper (each tick, and when a worker starts) hands
over again what was committed but never reached the queue, and re-queues jobs whose
worker died (their lease ran out).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from yiti.errors import Conflict, NotFound
from yiti.jobs.clock import Clock, SystemClock
from yiti.jobs.jsonable import jsonable
from yiti.jobs.registry import JOBS
from yiti.jobs.settings import JobSettings
from yiti.jobs.settings import from_env as settings_from_env
from yiti.records.transaction import reading, transaction

if TYPE_CHECKING:
    from huey import Huey

    from yiti.jobs.notifications import Recipient
    from yiti.site import Site

log = logging.getLogger("yiti.jobs")

#: (job id, seconds to wait, priority) handed to the queue.
Dispatch = tuple[int, float, int]


class Jobs:
    """Jobs of one site. Get it with :func:`yiti.jobs.install` (``site.jobs``)."""

    def __init__(self, site: Site, settings: JobSettings | None = None,
                 clock: Clock | None = None) -> None:
        self.site = site
        self.settings = settings or settings_from_env()
        self.clock: Clock = clock or SystemClock()
        self._huey: Huey | None = None
        self._lock = threading.Lock()
        #: Finds a user's e-mail address and language; the auth layer may replace it.
        self.recipient_resolver: Callable[[str], Recipient] | None = None

    # -- the queue ------------------------------------------------------------------

    @property
    def huey(self) -> Huey:
        """The Huey instance (made on first use)."""
        with self._lock:
            if self._huey is None:
                from yiti.jobs.queue import make_huey

                self._huey = make_huey(self)
            return self._huey

    @property
    def table(self) -> Table:
        return self.site.tables["yiti_job"]

    def now(self) -> dt.datetime:
        return self.clock.now()

    # -- enqueue --------------------------------------------------------------------

    def enqueue(self, name: str, payload: Mapping[str, Any] | None = None, *,
                key: str | None = None, delay: float | None = None,
                priority: int | None = None, max_attempts: int | None = None,
                user: str | None = None) -> int:
        """Queue job ``name`` once the current transaction commits; returns its id.

        With ``key``, at most one job ever exists for that key: enqueueing again returns
        the first job's id. ``delay`` (seconds) holds the job back.
        """
        spec = JOBS.get(name)
        if spec is None:
            from yiti.jobs.registry import spec as find

            find(name)  # raises with a suggestion
            raise AssertionError  # pragma: no cover
        now = self.now()
        delay = max(float(delay or 0), 0.0)
        priority = spec.priority if priority is None else priority
        row = {
            "name": name, "payload": jsonable(dict(payload or {})), "key": key,
            "state": "queued", "priority": priority, "attempts": 0,
            "max_attempts": max_attempts or spec.max_attempts or self.settings.max_attempts,
            "run_after": now + dt.timedelta(seconds=delay), "created_at": now,
            "created_by": user, "progress_done": 0,
        }
        t = self.table
        with transaction(self.site.engine) as tx:
            if key is not None:
                found = tx.conn.execute(select(t.c.id).where(t.c.key == key)).scalar()
                if found is not None:
                    return int(found)
            try:
                with tx.conn.begin_nested():
                    ident = int(tx.conn.execute(insert(t).values(row).returning(t.c.id))
                                .scalar_one())
            except IntegrityError:  # another transaction took the key meanwhile
                if key is None:
                    raise
                return int(tx.conn.execute(select(t.c.id).where(t.c.key == key)).scalar_one())
            tx.after_commit.append(lambda: self.dispatch([(ident, delay, priority)]))
        return ident

    def dispatch(self, items: list[Dispatch]) -> None:
        """Hand jobs to the queue. Never raises: what fails here the sweeper hands over later."""
        sent: list[Dispatch] = []
        for ident, delay, priority in items:
            try:
                task = self.huey.yiti_run_job  # type: ignore[attr-defined]
                self.huey.enqueue(task.s(ident, delay=delay or None, priority=priority or None))
                sent.append((ident, delay, priority))
            except Exception:
                log.exception("job %s: could not reach the queue; the sweeper will retry", ident)
        if not sent:
            return
        now = self.now()
        t = self.table
        try:
            with transaction(self.site.engine) as tx:
                for ident, delay, _ in sent:
                    tx.conn.execute(update(t).where(t.c.id == ident).values(
                        dispatched_at=now + dt.timedelta(seconds=delay)))
        except Exception:
            log.exception("could not note that jobs were dispatched")

    # -- running (see runner.py) ----------------------------------------------------

    def run(self, job_id: int) -> str:
        """Run job ``job_id`` here and now if it is due and nobody runs it; the outcome."""
        from yiti.jobs.runner import run

        return run(self, job_id)

    def drain(self, limit: int = 100) -> int:
        """Run every due queued job in this thread (tests, ``yiti jobs run``); how many ran."""
        t = self.table
        count = 0
        for _ in range(limit):
            with reading(self.site.engine) as conn:
                ident = conn.execute(
                    select(t.c.id).where(t.c.state == "queued", t.c.run_after <= self.now())
                    .order_by(t.c.priority.desc(), t.c.id).limit(1)).scalar()
            if ident is None:
                break
            self.run(int(ident))
            count += 1
        return count

    def tick(self) -> None:
        """What runs each minute in every worker: the sweeper, then due schedules."""
        from yiti.jobs.schedules import fire_due

        self.sweep()
        fire_due(self)

    def sweep(self) -> list[int]:
        """Re-queue jobs whose worker died; hand over queued jobs the queue never got."""
        now = self.now()
        t = self.table
        items: list[Dispatch] = []
        with transaction(self.site.engine) as tx:
            lost = tx.conn.execute(select(t.c.id, t.c.attempts, t.c.max_attempts).where(
                t.c.state == "running", t.c.lease_until < now)).all()
            for ident, attempts, max_attempts in lost:
                note = (f"attempt {attempts}: the worker stopped without finishing "
                        "(its lease ran out)")
                values: dict[str, Any] = {"lease_until": None, "error": note}
                if attempts >= max_attempts:
                    values.update(state="failed", finished_at=now)
                else:
                    values.update(state="queued", run_after=now, dispatched_at=None)
                tx.conn.execute(update(t).where(t.c.id == ident, t.c.state == "running",
                                                t.c.attempts == attempts).values(values))
            stale = now - dt.timedelta(seconds=self.settings.redispatch_after)
            due = tx.conn.execute(select(t.c.id, t.c.priority).where(
                t.c.state == "queued", t.c.run_after <= now,
                or_(t.c.dispatched_at.is_(None) & (t.c.created_at < stale),
                    t.c.dispatched_at < stale,
                    t.c.id.in_([i for i, _, _ in lost]))
            ).order_by(t.c.priority.desc(), t.c.id).limit(1000)).all()
            items = [(int(i), 0.0, int(p)) for i, p in due]
        if items:
            self.dispatch(items)
        return [i for i, _, _ in items]

    # -- for administrators ---------------------------------------------------------

    def get(self, job_id: int) -> dict[str, Any]:
        t = self.table
        with reading(self.site.engine) as conn:
            row = conn.execute(select(t).where(t.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFound(f"job {job_id} not found")
        return dict(row)

    def list(self, *, state: str | None = None, limit: int = 50, before: int | None = None
             ) -> list[dict[str, Any]]:
        """Jobs, newest first; ``before`` (an id) pages back."""
        t = self.table
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        if state:
            query = query.where(t.c.state == state)
        if before:
            query = query.where(t.c.id < before)
        with reading(self.site.engine) as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        from yiti.jobs.tables import STATES

        t = self.table
        with reading(self.site.engine) as conn:
            found = dict(conn.execute(select(t.c.state, func.count()).group_by(t.c.state)).all())
        return {s: int(found.get(s, 0)) for s in STATES}

    def cancel(self, job_id: int) -> None:
        """Cancel a queued, running or failed job; a running one's work is rolled back."""
        t = self.table
        with transaction(self.site.engine) as tx:
            done = tx.conn.execute(update(t).where(
                t.c.id == job_id, t.c.state.in_(("queued", "running", "failed"))
            ).values(state="cancelled", finished_at=self.now(), lease_until=None))
            if done.rowcount != 1:
                raise Conflict(f"job {job_id} is {self.get(job_id)['state']}; "
                               "only a queued, running or failed job can be cancelled")

    def retry(self, job_id: int) -> None:
        """Queue a failed or cancelled job again, with all its attempts."""
        t = self.table
        now = self.now()
        with transaction(self.site.engine) as tx:
            done = tx.conn.execute(update(t).where(
                t.c.id == job_id, t.c.state.in_(("failed", "cancelled"))
            ).values(state="queued", attempts=0, run_after=now, finished_at=None,
                     dispatched_at=None, lease_until=None))
            if done.rowcount != 1:
                raise Conflict(f"job {job_id} is {self.get(job_id)['state']}; "
                               "only a failed or cancelled job can be retried")
            priority = tx.conn.execute(select(t.c.priority).where(t.c.id == job_id)).scalar()
            tx.after_commit.append(lambda: self.dispatch([(job_id, 0.0, int(priority or 0))]))
