"""Retention: the job layer's own tables don't grow forever.

A built-in schedule (``yiti_retention``, daily at ``YITI_RETENTION_CRON`` in the site's
time zone; enabled, disabled and run now like any other) runs the job ``yiti.retention``,
which deletes

- done and cancelled jobs finished more than ``retention_days`` ago, failed jobs more
  than ``retention_failed_days`` ago (so an administrator still sees them);
- webhook delivery attempts answered 2xx more than ``retention_days`` ago, the others
  more than ``retention_failed_days`` ago;
- notifications read more than ``retention_days`` ago (unread ones stay);
- schedule runs due more than ``retention_days`` ago (the schedule's own row keeps its
  last due time, so nothing fires again).

It deletes in batches of ``retention_batch`` rows, each batch its own short transaction,
so it never holds many locks for long and a crash loses nothing but the batch it was in
(deleting again is harmless: the job is idempotent).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, and_, delete, not_, or_, select

from yiti.jobs.registry import job
from yiti.records.transaction import transaction

if TYPE_CHECKING:
    from yiti.jobs.runner import JobContext
    from yiti.jobs.schedules import Schedule
    from yiti.jobs.service import Jobs

RETENTION_JOB = "yiti.retention"
RETENTION_SCHEDULE = "yiti_retention"


def builtin_schedules(jobs: Jobs) -> dict[str, Schedule]:
    """The engine's own schedules: retention, unless every period is 0 (keep forever)."""
    from yiti.jobs.schedules import Schedule, cron_problem

    settings = jobs.settings
    if not settings.retention_days and not settings.retention_failed_days:
        return {}
    if cron_problem(settings.retention_cron):  # reported by schedules.check
        return {}
    return {RETENTION_SCHEDULE: Schedule(
        name=RETENTION_SCHEDULE, job=RETENTION_JOB, cron=settings.retention_cron,
        timezone=jobs.site.settings.timezone,
        label={"en": "Delete old jobs, deliveries and read notifications",
               "zh-CN": "清理旧的任务、投递记录和已读通知"},
    )}


def settings_problems(jobs: Jobs) -> list[str]:
    """What is wrong with the retention settings (for the schedules page and CLI)."""
    from yiti.jobs.schedules import cron_problem

    problem = cron_problem(jobs.settings.retention_cron)
    return [f"YITI_RETENTION_CRON: {problem}; retention does not run"] if problem else []


def _batches(jobs: Jobs, table: Table, condition: ColumnElement[bool]) -> int:
    """Delete the rows of ``table`` matching ``condition``, a batch per transaction.

    Batches walk the ids upwards (each starts after the last id of the one before), so no
    batch scans again the index entries of rows an earlier one deleted.
    """
    size = jobs.settings.retention_batch
    total, last = 0, None
    while True:
        query = select(table.c.id).where(condition)
        if last is not None:
            query = query.where(table.c.id > last)
        with transaction(jobs.site.engine) as tx:
            ids = list(tx.conn.execute(query.order_by(table.c.id).limit(size)).scalars())
            if ids:
                tx.conn.execute(delete(table).where(table.c.id.in_(ids)))
        total += len(ids)
        if len(ids) < size:
            return total
        last = ids[-1]


def purge(jobs: Jobs, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete what the retention settings say is old; how many rows of each kind."""
    now = now or jobs.now()
    settings, tables = jobs.settings, jobs.site.tables

    def before(days: int) -> dt.datetime | None:
        return now - dt.timedelta(days=days) if days > 0 else None

    done, failed = before(settings.retention_days), before(settings.retention_failed_days)
    t, deliveries = tables["yiti_job"], tables["yiti_webhook_delivery"]
    notes, runs = tables["yiti_notification"], tables["yiti_schedule_run"]
    delivered = deliveries.c.status_code.between(200, 299)
    counts = {"jobs_done": 0, "jobs_failed": 0, "deliveries_ok": 0, "deliveries_failed": 0,
              "notifications_read": 0, "schedule_runs": 0}
    if done is not None:
        counts["jobs_done"] = _batches(jobs, t, and_(
            t.c.state.in_(("done", "cancelled")), t.c.finished_at < done))
        counts["deliveries_ok"] = _batches(jobs, deliveries, and_(
            delivered, deliveries.c.at < done))
        counts["notifications_read"] = _batches(jobs, notes, and_(
            notes.c.read_at.is_not(None), notes.c.read_at < done))
        counts["schedule_runs"] = _batches(jobs, runs, runs.c.due_at < done)
    if failed is not None:
        counts["jobs_failed"] = _batches(jobs, t, and_(
            t.c.state == "failed", t.c.finished_at < failed))
        counts["deliveries_failed"] = _batches(jobs, deliveries, and_(
            or_(deliveries.c.status_code.is_(None), not_(delivered)),
            deliveries.c.at < failed))
    return counts


@job(RETENTION_JOB, transactional=False)
def retention(ctx: JobContext) -> dict[str, Any]:
    """The built-in schedule's job: :func:`purge` as of the job's clock."""
    return purge(ctx.jobs, ctx.now())
