"""Schedules declared in packs (``schedules/*.yaml``), fired exactly once per due time.

Each tick (every minute, in every worker) looks at each enabled schedule's latest due
time; the first worker to insert ``(schedule, due_at)`` into ``yiti_schedule_run`` (a
unique row) enqueues the job, in the same transaction; the others find the row and move
on. Due times missed while no worker ran are coalesced: only the latest fires. Due times
before the schedule was first seen, or enabled again, never fire.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from yiti.errors import NotFound, ValidationError, did_you_mean
from yiti.records.transaction import reading, transaction

if TYPE_CHECKING:
    from yiti.jobs.service import Jobs

UTC = dt.UTC
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Schedule:
    name: str
    job: str
    timezone: str
    cron: str | None = None
    every: float | None = None  # seconds
    enabled: bool = True
    payload: dict[str, Any] = field(default_factory=dict)
    label: Any = None
    module: str | None = None

    def describe(self) -> str:
        return f"cron {self.cron} ({self.timezone})" if self.cron else f"every {self.every:g}s"


def parse_every(value: Any) -> float:
    """``300``, ``"90s"``, ``"15m"``, ``"2h"`` or ``"1d"`` as seconds.

    ValueError (its message names the problem, without the key) for anything else.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
        if not match:
            raise ValueError(f"{value!r} is not an interval (try '15m', '2h', 300)")
        unit = match.group(2) or "s"
        if unit not in _UNITS:
            raise ValueError(f"unknown interval unit {unit!r} in {value!r}: use s, m, h or d "
                             "(seconds, minutes, hours, days)")
        seconds = float(match.group(1)) * _UNITS[unit]
    if seconds < 60:
        raise ValueError(f"{value!r} is shorter than a minute, the scheduler's tick")
    return seconds


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a five-field cron expression (or an ``@daily``-style
    alias); None when it is one."""
    text = str(expression).strip()
    if not text.startswith("@") and len(text.split()) != 5:
        return (f"{expression!r} is not a cron expression: it needs five fields (minute hour "
                f"day-of-month month day-of-week), not {len(text.split())}")
    try:
        croniter(text)
    except Exception as error:  # noqa: BLE001 - croniter's errors say "out of range" etc.
        reason = str(error).split("is not acceptable", 1)[-1].strip(" ,.")
        return f"{expression!r} is not a cron expression" + (f": {reason}" if reason else "")
    if not croniter.is_valid(text):
        return f"{expression!r} is not a cron expression"
    return None


def declared(jobs: Jobs) -> dict[str, Schedule]:
    """Every schedule: the engine's own (retention, :mod:`yiti.jobs.retention`; abandoned
    uploads, :mod:`yiti.jobs.uploads`), then the site's packs' (``Model.extra
    ["schedules"]``; one of the same name replaces the engine's)."""
    from yiti.jobs import retention, uploads

    out = {**retention.builtin_schedules(jobs), **uploads.builtin_schedules(jobs)}
    for name, definition in jobs.site.model.extra.get("schedules", {}).items():
        body = definition.body
        every = body.get("every")
        out[name] = Schedule(
            name=name, job=body["job"], cron=body.get("cron"),
            every=parse_every(every) if every is not None else None,
            timezone=body.get("timezone") or jobs.site.settings.timezone,
            enabled=bool(body.get("enabled", True)), payload=dict(body.get("payload") or {}),
            label=body.get("label"), module=definition.module,
        )
    return out


def latest_due(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    """The latest due time at or before ``now`` (UTC)."""
    if schedule.cron:
        local = now.astimezone(ZoneInfo(schedule.timezone)).replace(microsecond=0)
        prev = croniter(schedule.cron, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
        return prev.astimezone(UTC)
    if schedule.every:
        stamp = (now.timestamp() // schedule.every) * schedule.every
        return dt.datetime.fromtimestamp(stamp, UTC)
    return None


def next_due(schedule: Schedule, now: dt.datetime) -> dt.datetime | None:
    if schedule.cron:
        local = now.astimezone(ZoneInfo(schedule.timezone)).replace(microsecond=0)
        return croniter(schedule.cron, local).get_next(dt.datetime).astimezone(UTC)
    if schedule.every:
        stamp = (now.timestamp() // schedule.every + 1) * schedule.every
        return dt.datetime.fromtimestamp(stamp, UTC)
    return None


def _state(jobs: Jobs, conn: Any, name: str) -> dict[str, Any]:
    """The schedule's row, made (since now) the first time the schedule is seen."""
    t = jobs.site.tables["yiti_schedule"]
    row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    if row is None:
        try:
            with conn.begin_nested():
                conn.execute(insert(t).values(name=name, since=jobs.now()))
        except IntegrityError:
            pass  # another worker saw it first
        row = conn.execute(select(t).where(t.c.name == name)).mappings().one()
    return dict(row)


def fire_due(jobs: Jobs) -> list[int]:
    """Enqueue the job of every schedule that is due and not yet fired; the job ids."""
    now = jobs.now()
    fired = []
    for schedule in declared(jobs).values():
        due = latest_due(schedule, now)
        if due is None:
            continue
        with transaction(jobs.site.engine) as tx:
            state = _state(jobs, tx.conn, schedule.name)
            enabled = schedule.enabled if state["enabled"] is None else state["enabled"]
            if not enabled or due < state["since"]:
                continue
            if state["last_due"] is not None and due <= state["last_due"]:
                continue
            job_id = _claim(jobs, tx.conn, schedule, due)
            if job_id is not None:
                fired.append(job_id)
    return fired


def _claim(jobs: Jobs, conn: Any, schedule: Schedule, due: dt.datetime) -> int | None:
    runs = jobs.site.tables["yiti_schedule_run"]
    t = jobs.site.tables["yiti_schedule"]
    try:
        with conn.begin_nested():
            run_id = conn.execute(insert(runs).values(
                schedule=schedule.name, due_at=due, created_at=jobs.now()
            ).returning(runs.c.id)).scalar_one()
    except IntegrityError:
        return None  # another worker fired this due time
    payload = {**schedule.payload, "schedule": schedule.name, "due_at": due.isoformat()}
    job_id = jobs.enqueue(schedule.job, payload, key=f"schedule:{schedule.name}:{due.isoformat()}")
    conn.execute(update(runs).where(runs.c.id == run_id).values(job_id=job_id))
    conn.execute(update(t).where(t.c.name == schedule.name).values(
        last_due=due, last_job_id=job_id))
    return job_id


def find(jobs: Jobs, name: str) -> Schedule:
    found = declared(jobs)
    if name not in found:
        hint = did_you_mean(name, found)
        raise NotFound(f"no schedule {name!r}" + (f"; {hint}" if hint else ""))
    return found[name]


def set_enabled(jobs: Jobs, name: str, enabled: bool | None) -> None:
    """Enable or disable a schedule (None: back to its declaration). Enabling starts afresh:
    due times passed while it was off don't fire."""
    find(jobs, name)
    t = jobs.site.tables["yiti_schedule"]
    with transaction(jobs.site.engine) as tx:
        _state(jobs, tx.conn, name)
        values: dict[str, Any] = {"enabled": enabled}
        if enabled is not False:
            values["since"] = jobs.now()
        tx.conn.execute(update(t).where(t.c.name == name).values(values))


def run_now(jobs: Jobs, name: str, *, user: str | None = None) -> int:
    """Enqueue a schedule's job now, outside its timetable; the job id."""
    schedule = find(jobs, name)
    t = jobs.site.tables["yiti_schedule"]
    payload = {**schedule.payload, "schedule": name, "due_at": jobs.now().isoformat()}
    with transaction(jobs.site.engine) as tx:
        _state(jobs, tx.conn, name)
        job_id = jobs.enqueue(schedule.job, payload, user=user)
        tx.conn.execute(update(t).where(t.c.name == name).values(last_job_id=job_id))
    return job_id


def overview(jobs: Jobs) -> list[dict[str, Any]]:
    """Every schedule with its state, for the page and the API."""
    t = jobs.site.tables["yiti_schedule"]
    now = jobs.now()
    with reading(jobs.site.engine) as conn:
        states = {r["name"]: dict(r) for r in conn.execute(select(t)).mappings()}
    out = []
    for schedule in declared(jobs).values():
        state = states.get(schedule.name, {})
        override = state.get("enabled")
        out.append({
            "name": schedule.name, "label": schedule.label, "job": schedule.job,
            "module": schedule.module, "when": schedule.describe(), "cron": schedule.cron,
            "every": schedule.every, "timezone": schedule.timezone,
            "declared_enabled": schedule.enabled,
            "enabled": schedule.enabled if override is None else override,
            "last_due": state.get("last_due"), "last_job_id": state.get("last_job_id"),
            "next_due": next_due(schedule, now),
        })
    return out


def check(jobs: Jobs) -> list[str]:
    """Problems with the declared schedules that the JSON Schema can't see."""
    from yiti.jobs import retention, uploads
    from yiti.jobs.registry import JOBS

    problems = retention.settings_problems(jobs) + uploads.settings_problems(jobs)
    for name, definition in jobs.site.model.extra.get("schedules", {}).items():
        body = definition.body
        where = str(definition.location or name)
        if body.get("job") not in JOBS:
            hint = did_you_mean(str(body.get("job")), JOBS)
            problems.append(f"{where}: job: no job handler {body.get('job')!r}"
                            + (f" ({hint})" if hint else ""))
        if bool(body.get("cron")) == (body.get("every") is not None):
            problems.append(f"{where}: give either cron or every")
        if body.get("cron") and (problem := cron_problem(body["cron"])):
            problems.append(f"{where}: cron: {problem}")
        if body.get("every") is not None:
            try:
                parse_every(body["every"])
            except ValueError as error:
                problems.append(f"{where}: every: {error}")
        try:
            ZoneInfo(body.get("timezone") or jobs.site.settings.timezone)
        except Exception:
            problems.append(f"{where}: timezone: unknown time zone {body.get('timezone')!r}")
    return problems


def refuse_problems(jobs: Jobs) -> None:
    problems = check(jobs)
    if problems:
        raise ValidationError("; ".join(problems))
