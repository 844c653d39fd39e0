"""Retention: the built-in daily schedule deletes old done jobs, deliveries, read
notifications and schedule runs in batches, keeping failed ones longer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update

from yiti.jobs import FakeClock, mark_read, notify, schedules
from yiti.jobs.retention import RETENTION_JOB, RETENTION_SCHEDULE, purge
from yiti.site import Site

from .conftest import FAST

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEEP = FAST.with_(retention_days=30, retention_failed_days=90, retention_batch=2)


def count(site: Site, table: str, *where: object) -> int:
    t = site.tables[table]
    with site.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one())


def states(site: Site) -> dict[str, int]:
    return {state: n for state, n in site.jobs.counts().items() if n}


def exists(site: Site, job_id: int) -> bool:
    return count(site, "yiti_job", site.tables["yiti_job"].c.id == job_id) == 1


def last_run(site: Site) -> dict:
    """The latest run of the retention job."""
    return next(j for j in site.jobs.list() if j["name"] == RETENTION_JOB)


def deliver(site: Site, status: int | None, at: dt.datetime) -> None:
    with site.engine.begin() as conn:
        conn.execute(insert(site.tables["yiti_webhook_delivery"]).values(
            webhook="w", event_id=f"e{status}{at.timestamp()}", event="created",
            entity="order", attempt=1, at=at, status_code=status,
            error=None if status == 200 else "HTTP 500"))


def test_daily_schedule_deletes_old_rows_in_batches_and_keeps_failed_longer(
        make_site: Callable[..., Site]) -> None:
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
    clock = FakeClock(start)
    site = make_site(clock=clock, settings=KEEP)
    jobs = site.jobs
    site.jobs.tick()  # the retention schedule is seen: it fires from now on
    done = [jobs.enqueue("jobpack.bump", {"counter": f"c{n}"})  # three batches of two
            for n in range(5)]
    failed = jobs.enqueue("jobpack.fail")
    cancelled = jobs.enqueue("jobpack.bump", delay=3600)
    jobs.cancel(cancelled)
    for _ in range(4):
        jobs.drain()
        clock.advance(2)
    assert states(site) == {"done": 5, "failed": 1, "cancelled": 1}
    read, unread = (notify(site, "ann", subject=s) for s in ("read", "unread"))
    mark_read(site, "ann", [read])
    deliver(site, 200, clock.now())
    deliver(site, 500, clock.now())
    deliver(site, None, clock.now())

    # 29 days later, at 03:30 in the site's zone: nothing is old enough yet.
    clock.set(dt.datetime(2026, 3, 30, 3, 30, tzinfo=SHANGHAI))
    jobs.tick()
    runs = [j for j in jobs.list() if j["name"] == RETENTION_JOB]
    assert len(runs) == 1 and runs[0]["payload"]["schedule"] == RETENTION_SCHEDULE
    assert runs[0]["payload"]["due_at"] == "2026-03-29T19:30:00+00:00"
    jobs.drain()
    result = jobs.get(runs[0]["id"])["result"]
    assert set(result.values()) == {0}
    assert all(exists(site, i) for i in [*done, failed, cancelled])

    # Two days on: the done and cancelled jobs, the 2xx delivery and the read notification
    # of day one go; the failed job, the failed attempts and the unread notification stay.
    clock.set(dt.datetime(2026, 4, 1, 3, 30, 5, tzinfo=SHANGHAI))
    jobs.tick()
    jobs.drain()
    assert last_run(site)["result"] == {"jobs_done": 6, "jobs_failed": 0, "deliveries_ok": 1,
                                "deliveries_failed": 0, "notifications_read": 1,
                                "schedule_runs": 0}
    assert not any(exists(site, i) for i in [*done, cancelled])
    assert exists(site, runs[0]["id"])  # the first run is two days old
    assert [j["id"] for j in jobs.list(state="failed")] == [failed]
    assert count(site, "yiti_webhook_delivery") == 2
    assert [n["id"] for n in _notes(site)] == [unread]

    # 90 days after the failure, the failed job and failed attempts go too.
    clock.set(dt.datetime(2026, 6, 1, 3, 30, 5, tzinfo=SHANGHAI))
    jobs.tick()
    jobs.drain()
    result = last_run(site)["result"]
    assert result["jobs_failed"] == 1 and result["deliveries_failed"] == 2
    assert result["schedule_runs"] == 4  # retention's and morning's of two days in March
    assert "failed" not in states(site)
    assert count(site, "yiti_webhook_delivery") == 0
    assert [n["id"] for n in _notes(site)] == [unread]


def _notes(site: Site) -> list[dict]:
    t = site.tables["yiti_notification"]
    with site.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]


def test_purge_keeps_everything_with_zero_days_and_the_schedule_can_be_disabled(
        make_site: Callable[..., Site]) -> None:
    clock = FakeClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    site = make_site(clock=clock, settings=KEEP.with_(retention_days=0))
    job_id = site.jobs.enqueue("jobpack.bump")
    site.jobs.drain()
    with site.engine.begin() as conn:  # a done job finished a year ago
        t = site.tables["yiti_job"]
        conn.execute(update(t).where(t.c.id == job_id).values(
            finished_at=clock.now() - dt.timedelta(days=365)))
    assert purge(site.jobs)["jobs_done"] == 0
    assert site.jobs.get(job_id)["state"] == "done"

    view = {s["name"]: s for s in schedules.overview(site.jobs)}
    assert view[RETENTION_SCHEDULE]["enabled"] and view[RETENTION_SCHEDULE]["module"] is None
    schedules.set_enabled(site.jobs, RETENTION_SCHEDULE, False)
    clock.advance(days=2)
    site.jobs.tick()
    assert not [j for j in site.jobs.list() if j["name"] == RETENTION_JOB]


def test_no_schedule_when_nothing_expires_and_a_bad_cron_is_reported(
        make_site: Callable[..., Site]) -> None:
    site = make_site(settings=KEEP.with_(retention_days=0, retention_failed_days=0))
    assert RETENTION_SCHEDULE not in {s["name"] for s in schedules.overview(site.jobs)}
    other = make_site(settings=KEEP.with_(retention_cron="30 25 * * *"))
    assert RETENTION_SCHEDULE not in {s["name"] for s in schedules.overview(other.jobs)}
    assert schedules.check(other.jobs) == [
        "YITI_RETENTION_CRON: '30 25 * * *' is not a cron expression: out of range; "
        "retention does not run"]
