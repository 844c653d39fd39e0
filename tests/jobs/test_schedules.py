"""Schedules fire once per due time, at the right time, under a controllable clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from yiti.jobs import FakeClock, schedules
from yiti.site import Site

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, second: int = 0, day: int = 1) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at(7, 58))


def morning_jobs(site: Site) -> list[dict]:
    return [j for j in site.jobs.list() if j["payload"].get("schedule") == "morning"]


def test_cron_schedule_fires_once_at_its_time_in_the_site_zone(
        make_site: Callable[..., Site], clock: FakeClock) -> None:
    site = make_site(clock=clock)
    other_worker = make_site(clock=clock)  # a second worker process on the same database
    site.jobs.tick()  # first sight at 07:58: nothing due yet
    clock.set(at(7, 59, 59))
    site.jobs.tick()
    assert morning_jobs(site) == []
    clock.set(at(8, 0, 0))
    fired = site.jobs.tick() or morning_jobs(site)
    assert len(fired) == 1
    job = morning_jobs(site)[0]
    assert job["payload"]["due_at"] == "2026-03-01T00:00:00+00:00"  # 08:00 in Shanghai
    clock.set(at(8, 0, 40))
    other_worker.jobs.tick()
    site.jobs.tick()
    clock.set(at(8, 30))
    other_worker.jobs.tick()
    assert len(morning_jobs(site)) == 1
    assert site.jobs.drain() == 1
    rows = site.records().list("counter", filters=[("code", "=", "morning")]).rows
    assert rows[0]["value"] == 1
    clock.set(at(8, 0, 5, day=2))  # the next morning
    other_worker.jobs.tick()
    site.jobs.tick()
    assert len(morning_jobs(site)) == 2


def test_missed_due_times_fire_once_when_workers_come_back(
        make_site: Callable[..., Site], clock: FakeClock) -> None:
    site = make_site(clock=clock)
    site.jobs.tick()
    clock.set(at(9, 0, day=4))  # three mornings passed with no worker running
    site.jobs.tick()
    site.jobs.tick()
    jobs = morning_jobs(site)
    assert len(jobs) == 1
    assert jobs[0]["payload"]["due_at"] == "2026-03-04T00:00:00+00:00"


def test_disabled_schedule_never_fires_and_enabling_starts_afresh(
        make_site: Callable[..., Site], clock: FakeClock) -> None:
    site = make_site(clock=clock)
    site.jobs.tick()
    clock.set(at(9, 0))
    site.jobs.tick()
    assert not [j for j in site.jobs.list() if j["payload"].get("schedule") == "hourly"]
    clock.set(at(9, 10))
    schedules.set_enabled(site.jobs, "hourly", True)
    clock.set(at(9, 59))
    site.jobs.tick()
    assert not [j for j in site.jobs.list() if j["payload"].get("schedule") == "hourly"]
    clock.set(at(10, 0, 30))
    site.jobs.tick()
    hourly = [j for j in site.jobs.list() if j["payload"].get("schedule") == "hourly"]
    assert len(hourly) == 1
    schedules.set_enabled(site.jobs, "morning", False)
    clock.set(at(8, 0, day=2))
    site.jobs.tick()
    assert [j["payload"]["due_at"] for j in morning_jobs(site)] == [
        "2026-03-01T00:00:00+00:00"]  # day 1 fired (at the 09:00 tick), day 2 did not


def test_run_now_and_overview(make_site: Callable[..., Site], clock: FakeClock) -> None:
    site = make_site(clock=clock)
    job_id = schedules.run_now(site.jobs, "morning", user="ann")
    assert site.jobs.get(job_id)["created_by"] == "ann"
    view = {s["name"]: s for s in schedules.overview(site.jobs)}
    assert view["morning"]["last_job_id"] == job_id
    assert view["morning"]["next_due"] == at(8).astimezone(dt.UTC)
    assert view["hourly"]["enabled"] is False
    assert schedules.check(site.jobs) == []


def test_intervals_and_bad_declarations() -> None:
    assert schedules.parse_every("15m") == 900
    assert schedules.parse_every(3600) == 3600
    with pytest.raises(ValueError, match="shorter than a minute"):
        schedules.parse_every("30s")
    with pytest.raises(ValueError, match="not an interval"):
        schedules.parse_every("soon")
