"""Background jobs, schedules, notifications and webhooks, on Huey.

For the engine and packs::

    from yiti.jobs import job, enqueue

    @job("crm.birthday_reminders")
    def birthday_reminders(ctx):          # ctx: JobContext
        for member in ...: notify(ctx.site, member["user"], template="birthday", ...)

    enqueue(site, "crm.birthday_reminders", {"day": "2026-05-01"}, key="birthday:2026-05-01")

``enqueue`` inside a record-service transaction takes effect only if it commits. See
docs/jobs.md for the idempotency pattern, schedules, webhooks and e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from yiti.jobs import kind as _kind  # noqa: F401 - registers schedules, webhooks, notifications
from yiti.jobs import retention as _retention  # noqa: F401 - the built-in retention job
from yiti.jobs import tables as _tables  # registers the system tables
from yiti.jobs import uploads as _uploads  # noqa: F401 - the built-in cleanup of uploads
from yiti.jobs.clock import Clock, FakeClock, SystemClock
from yiti.jobs.notifications import Recipient, mark_read, notify, unread_count
from yiti.jobs.registry import JOBS, JobSpec, job
from yiti.jobs.runner import JobContext, JobLost, PermanentError
from yiti.jobs.service import Jobs
from yiti.jobs.settings import JobSettings, SmtpSettings
from yiti.jobs.webhooks import emit, sign, verify

if TYPE_CHECKING:
    from yiti.site import Site

__all__ = [
    "JOBS", "Clock", "FakeClock", "JobContext", "JobLost", "JobSettings", "JobSpec", "Jobs",
    "PermanentError", "Recipient", "SmtpSettings", "SystemClock", "emit", "enqueue",
    "install", "job", "jobs_of", "mark_read", "notify", "sign", "unread_count", "verify",
]


def install(site: Site, *, settings: JobSettings | None = None,
            clock: Clock | None = None) -> Jobs:
    """Give ``site`` its job layer (``site.jobs``) and hook webhooks on record events.

    Call once per site (again is harmless: the first call's ``Jobs`` is returned).
    """
    existing = getattr(site, "jobs", None)
    if isinstance(existing, Jobs):
        return existing
    if "yiti_job" not in site.metadata.tables:  # a site built before this package loaded
        _tables.job_tables(site.metadata)
        for name in _tables.TABLES:
            site.metadata.tables[name].create(site.engine, checkfirst=True)
    jobs = Jobs(site, settings, clock)
    site.jobs = jobs  # type: ignore[attr-defined]
    from yiti.jobs import webhooks

    webhooks.install(jobs)
    return jobs


def jobs_of(site: Site) -> Jobs:
    """``site``'s job layer, installed on first use."""
    existing = getattr(site, "jobs", None)
    return existing if isinstance(existing, Jobs) else install(site)


def enqueue(site: Site, name: str, payload: Mapping[str, Any] | None = None, *,
            key: str | None = None, delay: float | None = None,
            priority: int | None = None) -> int:
    """Queue job ``name`` after the current transaction commits (now, if there is none).

    ``key`` makes it idempotent (one job per key); ``delay`` holds it back (seconds).
    Returns the job's id.
    """
    return jobs_of(site).enqueue(name, payload, key=key, delay=delay, priority=priority)
