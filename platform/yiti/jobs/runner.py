"""Running one job: claim it, run its handler, mark it done or failed.

Every run claims its ``yiti_job`` row with a conditional update (queued → running,
attempts + 1, a lease) so two workers never run the same attempt. A transactional
handler's writes commit together with "done", and only while the claim still holds
(state running, the same attempt): a run that was cancelled, or whose lease ran out and
was taken over, rolls back instead of applying its effect twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from yiti.jobs.jsonable import jsonable
from yiti.jobs.registry import JOBS
from yiti.permissions.policy import SYSTEM
from yiti.records.transaction import Transaction, transaction

if TYPE_CHECKING:
    from yiti.jobs.service import Jobs
    from yiti.records.service import Records
    from yiti.site import Site

log = logging.getLogger("yiti.jobs")

#: A queue message may arrive this much before its time (clock skew between hosts).
EARLY = dt.timedelta(seconds=1)
MAX_ERROR = 8000


class JobLost(Exception):
    """This run no longer owns its job (cancelled, or taken over after its lease ran out)."""


class PermanentError(Exception):
    """Raise from a handler to fail the job at once, without further attempts."""


@dataclass
class JobContext:
    """What a handler gets: its payload, the site, and ways to report progress."""

    jobs: Jobs
    id: int
    name: str
    payload: dict[str, Any]
    key: str | None
    attempt: int
    max_attempts: int
    lease: float
    #: Progress saved by an earlier attempt: a resumable job starts after it.
    progress_done: int = 0

    @property
    def site(self) -> Site:
        return self.jobs.site

    @property
    def records(self) -> Records:
        return self.site.records(SYSTEM)

    def now(self) -> dt.datetime:
        return self.jobs.now()

    def progress(self, done: int, total: int | None = None, message: str | None = None
                 ) -> None:
        """Report ``done`` of ``total`` (and extend the lease); raises JobLost if cancelled."""
        with transaction(self.site.engine) as tx:
            self._mark(tx.conn, done, total, message)

    @contextmanager
    def step(self, done: int, total: int | None = None) -> Iterator[Transaction]:
        """One chunk of a long job: its writes commit with the progress ``done``, or not at all.

        A retried job reads :attr:`progress_done` and skips the chunks already committed,
        so each chunk's effect applies exactly once.
        """
        with transaction(self.site.engine) as tx:
            yield tx
            self._mark(tx.conn, done, total, None)
        self.progress_done = done

    def _mark(self, conn: Connection, done: int, total: int | None, message: str | None
              ) -> None:
        t = self.jobs.table
        values: dict[str, Any] = {"progress_done": done, "lease_until": self._lease_until()}
        if total is not None:
            values["progress_total"] = total
        if message is not None:
            values["message"] = message[:255]
        result = conn.execute(update(t).where(*self._owned(t)).values(values))
        if result.rowcount != 1:
            raise JobLost(f"job {self.id} was cancelled or taken over")

    def _owned(self, t: Any) -> list[Any]:
        return [t.c.id == self.id, t.c.state == "running", t.c.attempts == self.attempt]

    def _lease_until(self) -> dt.datetime:
        return self.now() + dt.timedelta(seconds=self.lease)


def run(jobs: Jobs, job_id: int) -> str:
    """Run ``job_id`` if it is due and unclaimed: "done", "retry", "failed", "lost", "skipped"."""
    ctx = claim(jobs, job_id)
    if ctx is None:
        return "skipped"
    spec = JOBS.get(ctx.name)
    if spec is None:
        return fail(ctx, f"no job handler {ctx.name!r} in this worker", permanent=True)
    try:
        if spec.transactional:
            with transaction(jobs.site.engine) as tx:
                result = spec.fn(ctx)
                finish(ctx, tx.conn, result)
        else:
            result = spec.fn(ctx)
            with transaction(jobs.site.engine) as tx:
                finish(ctx, tx.conn, result)
    except JobLost:
        log.info("job %s (%s): cancelled or taken over; its work was not kept", job_id,
                 ctx.name)
        return "lost"
    except Exception as error:  # the handler failed: record it, retry with back-off
        text = f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}"
        return fail(ctx, text, permanent=isinstance(error, PermanentError))
    return "done"


def claim(jobs: Jobs, job_id: int) -> JobContext | None:
    """Take the job for one attempt, or None when it isn't due or someone else has it."""
    t = jobs.table
    now = jobs.now()
    spec = None
    with transaction(jobs.site.engine) as tx:
        row = tx.conn.execute(select(t.c.name, t.c.attempts).where(t.c.id == job_id)).first()
        if row is None:
            return None
        spec = JOBS.get(row.name)
        lease = (spec.lease if spec and spec.lease else None) or jobs.settings.lease
        claimed = tx.conn.execute(update(t).where(
            t.c.id == job_id, t.c.state == "queued", t.c.attempts == row.attempts,
            t.c.run_after <= now + EARLY,
        ).values(state="running", attempts=row.attempts + 1, started_at=now,
                 lease_until=now + dt.timedelta(seconds=lease)))
        if claimed.rowcount != 1:
            return None
        job = tx.conn.execute(select(t).where(t.c.id == job_id)).mappings().one()
    return JobContext(jobs, job_id, job["name"], dict(job["payload"] or {}), job["key"],
                      job["attempts"], job["max_attempts"], lease, job["progress_done"] or 0)


def finish(ctx: JobContext, conn: Connection, result: Any) -> None:
    t = ctx.jobs.table
    done = conn.execute(update(t).where(*ctx._owned(t)).values(
        state="done", finished_at=ctx.now(), lease_until=None, error=None,
        result=jsonable(result) if result is not None else None))
    if done.rowcount != 1:
        raise JobLost(f"job {ctx.id} was cancelled or taken over")


def fail(ctx: JobContext, error: str, *, permanent: bool = False) -> str:
    """Record a failed attempt: queue it again after a back-off, or fail the job for good."""
    jobs = ctx.jobs
    t = jobs.table
    now = jobs.now()
    last = permanent or ctx.attempt >= ctx.max_attempts
    delay = 0.0 if last else jobs.settings.backoff(ctx.attempt)
    values: dict[str, Any] = {"lease_until": None, "error": error[-MAX_ERROR:]}
    if last:
        values.update(state="failed", finished_at=now)
    else:
        values.update(state="queued", run_after=now + dt.timedelta(seconds=delay),
                      dispatched_at=None)
    log.warning("job %s (%s) attempt %s failed%s: %s", ctx.id, ctx.name, ctx.attempt,
                "" if not last else " for good", error.splitlines()[0] if error else "")
    with transaction(jobs.site.engine) as tx:
        changed = tx.conn.execute(update(t).where(*ctx._owned(t)).values(values))
        if changed.rowcount != 1:
            return "lost"
        if not last:
            priority = tx.conn.execute(select(t.c.priority).where(t.c.id == ctx.id)).scalar()
            tx.after_commit.append(
                lambda: jobs.dispatch([(ctx.id, delay, int(priority or 0))]))
    return "failed" if last else "retry"
