"""The queue underneath: Huey, embedded (SQLite in the instance folder) or on Redis.

Huey only carries a job's id; the ``yiti_job`` row is the truth (state, attempts, error,
progress). One Huey task runs jobs and one periodic task ticks each minute (the outbox
sweeper and the schedules), in every worker process.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from huey import Huey, PriorityRedisHuey, SqliteHuey, crontab

if TYPE_CHECKING:
    from yiti.jobs.service import Jobs

log = logging.getLogger("yiti.jobs")

RUN_TASK = "yiti.run_job"
TICK_TASK = "yiti.tick"


def queue_name(jobs: Jobs) -> str:
    """The queue's name: set in settings, or one per database so sites never share one."""
    if jobs.settings.queue_name:
        return jobs.settings.queue_name
    digest = hashlib.sha1(jobs.site.settings.database_url.encode()).hexdigest()[:10]
    return f"yiti-{digest}"


def make_huey(jobs: Jobs) -> Huey:
    """A Huey instance for ``jobs``' site with Yiti's two tasks registered."""
    settings = jobs.site.settings
    name = queue_name(jobs)
    huey: Huey
    if settings.redis_url:
        huey = PriorityRedisHuey(name, url=settings.redis_url, results=False,
                                 read_timeout=1)
    else:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name, filename=str(settings.instance_path / "jobs.db"),
                          results=False, timeout=30)

    @huey.task(name=RUN_TASK)
    def run_job(job_id: int) -> None:
        try:
            jobs.run(job_id)
        except Exception:  # never let Huey retry on its own: the job row decides
            log.exception("job %s: unexpected error in the runner", job_id)

    @huey.periodic_task(crontab(), name=TICK_TASK)
    def tick() -> None:
        try:
            jobs.tick()
        except Exception:
            log.exception("tick failed")

    @huey.on_startup("yiti.sweep")
    def sweep_on_start() -> None:
        try:
            jobs.sweep()
        except Exception:
            log.exception("sweep at start-up failed")

    huey.yiti_run_job = run_job  # type: ignore[attr-defined]
    return huey
