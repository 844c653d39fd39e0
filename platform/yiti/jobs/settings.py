"""Settings of the job layer, read from the environment (tests pass their own).

``YITI_JOB_RETRY_DELAY`` (seconds before the first retry, doubled each time),
``YITI_JOB_RETRY_MAX_DELAY``, ``YITI_JOB_MAX_ATTEMPTS``, ``YITI_JOB_LEASE`` (seconds a
running job may go without a sign of life before it is re-queued), ``YITI_JOB_REDISPATCH``
(seconds before a queued job whose queue message was lost is handed to the queue again),
``YITI_JOB_POLL_MAX`` (longest pause of an idle worker between looks at the queue),
``YITI_QUEUE_NAME``; retention (:mod:`yiti.jobs.retention`): ``YITI_RETENTION_DAYS``,
``YITI_RETENTION_FAILED_DAYS``, ``YITI_RETENTION_BATCH``, ``YITI_RETENTION_CRON``; abandoned uploads
(:mod:`yiti.jobs.uploads`): ``YITI_UPLOAD_MAX_AGE_HOURS``, ``YITI_UPLOAD_CLEANUP_CRON``; e-mail: ``YITI_SMTP_HOST``, ``YITI_SMTP_PORT``, ``YITI_SMTP_USER``,
``YITI_SMTP_PASSWORD``, ``YITI_SMTP_FROM``, ``YITI_SMTP_TLS`` (``starttls``, ``ssl`` or
``none``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "yiti@localhost"
    tls: str = "none"  # starttls | ssl | none


@dataclass(frozen=True)
class JobSettings:
    retry_delay: float = 10.0
    retry_max_delay: float = 3600.0
    max_attempts: int = 5
    lease: float = 300.0
    redispatch_after: float = 120.0
    #: Longest pause of an idle worker between looks at the queue (embedded SQLite queue).
    poll_max: float = 2.0
    queue_name: str | None = None  # default: derived from the database URL
    smtp: SmtpSettings | None = None
    #: Seconds an outgoing webhook request may take.
    webhook_timeout: float = 10.0
    #: Days done and cancelled jobs, successful webhook deliveries, read notifications and
    #: schedule runs are kept (0: forever).
    retention_days: int = 30
    #: Days failed jobs and failed delivery attempts are kept (0: forever).
    retention_failed_days: int = 90
    #: Rows deleted per transaction, so no lock is held long.
    retention_batch: int = 1000
    #: When the built-in retention schedule runs (cron, in the site's time zone).
    retention_cron: str = "30 3 * * *"
    #: Hours an upload no record took is kept before the cleanup deletes it (0: forever).
    upload_max_age_hours: float = 24.0
    #: When the built-in cleanup of abandoned uploads runs (cron, in the site's time zone).
    upload_cleanup_cron: str = "45 * * * *"

    def with_(self, **changes: object) -> JobSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retrying after failed attempt number ``attempt`` (1-based)."""
        return min(self.retry_delay * 2 ** max(attempt - 1, 0), self.retry_max_delay)


def from_env(environ: dict[str, str] | None = None) -> JobSettings:
    env = dict(os.environ if environ is None else environ)

    def number(key: str, default: float) -> float:
        return float(env[key]) if env.get(key) else default

    smtp = None
    if env.get("YITI_SMTP_HOST"):
        tls = env.get("YITI_SMTP_TLS", "none").lower()
        smtp = SmtpSettings(
            host=env["YITI_SMTP_HOST"],
            port=int(env.get("YITI_SMTP_PORT") or (465 if tls == "ssl" else 25)),
            user=env.get("YITI_SMTP_USER") or None,
            password=env.get("YITI_SMTP_PASSWORD") or None,
            sender=env.get("YITI_SMTP_FROM") or "yiti@localhost",
            tls=tls,
        )
    return JobSettings(
        retry_delay=number("YITI_JOB_RETRY_DELAY", 10.0),
        retry_max_delay=number("YITI_JOB_RETRY_MAX_DELAY", 3600.0),
        max_attempts=int(number("YITI_JOB_MAX_ATTEMPTS", 5)),
        lease=number("YITI_JOB_LEASE", 300.0),
        redispatch_after=number("YITI_JOB_REDISPATCH", 120.0),
        poll_max=number("YITI_JOB_POLL_MAX", 2.0),
        queue_name=env.get("YITI_QUEUE_NAME") or None,
        smtp=smtp,
        retention_days=int(number("YITI_RETENTION_DAYS", 30)),
        retention_failed_days=int(number("YITI_RETENTION_FAILED_DAYS", 90)),
        retention_batch=max(int(number("YITI_RETENTION_BATCH", 1000)), 1),
        retention_cron=env.get("YITI_RETENTION_CRON") or "30 3 * * *",
        upload_max_age_hours=number("YITI_UPLOAD_MAX_AGE_HOURS", 24.0),
        upload_cleanup_cron=env.get("YITI_UPLOAD_CLEANUP_CRON") or "45 * * * *",
    )
