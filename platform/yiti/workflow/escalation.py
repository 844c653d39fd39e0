"""Escalation: when an approval step waits longer than its ``time_limit``, the system takes
the step's ``escalate`` action (usually: on to the next level).

Entering such a step enqueues ``yiti.workflow.escalate`` with the time limit as its
delay (through the jobs layer, so it waits for the commit and runs on the jobs' clock).
The job looks again when it runs: a step already decided, or entered again since, is left
alone. ``yiti.workflow.escalate_due`` sweeps every overdue step; a pack may schedule it
(``schedules/*.yaml``) as a safety net.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yiti.errors import YitiError
from yiti.jobs import job
from yiti.permissions.policy import SYSTEM
from yiti.records.transaction import reading
from yiti.workflow.spec import State, Workflow
from yiti.workflow.tables import TASK

if TYPE_CHECKING:
    from yiti.jobs.runner import JobContext
    from yiti.site import Site
    from yiti.workflow.engine import Workflows

ESCALATE = "yiti.workflow.escalate"
ESCALATE_DUE = "yiti.workflow.escalate_due"


def schedule(engine: Workflows, wf: Workflow, record: Mapping[str, Any], state: State) -> None:
    from yiti.jobs import jobs_of

    tasks = engine.open_tasks(wf, record["id"], state.name)
    if not tasks or state.time_limit is None:
        return
    first = min(t["id"] for t in tasks)
    jobs_of(engine.site).enqueue(ESCALATE, {"entity": wf.entity, "record_id": record["id"],
                                            "state": state.name, "task": first},
                                 key=f"workflow-escalate:{wf.entity}:{record['id']}:{first}",
                                 delay=state.time_limit)


def escalate(site: Site, entity: str, record_id: int, state: str, task: int | None = None
             ) -> bool:
    """Take the step's escalate action if it still waits past its limit; whether it did."""
    from yiti.workflow import install

    engine = install(site)
    wf = engine.by_entity.get(entity)
    if wf is None or state not in wf.states or not wf.states[state].escalate:
        return False
    now = engine.now()
    open_tasks = engine.open_tasks(wf, record_id, state)
    if task is not None:
        open_tasks = [t for t in open_tasks if t["id"] >= task]
    if not open_tasks or any(t["due_at"] is None or _aware(t["due_at"]) > now
                             for t in open_tasks):
        return False
    limit = wf.states[state].time_limit or 0
    try:
        engine.act(SYSTEM, entity, record_id, wf.states[state].escalate or "",
                   comment=f"waited longer than {_duration(limit)}; escalated")
    except YitiError:
        return False
    return True


def escalate_due(site: Site) -> int:
    """Escalate every overdue step; how many."""
    from yiti.workflow import install

    engine = install(site)
    t = site.tables[TASK]
    with reading(site.engine) as conn:
        rows = conn.execute(select(t.c.entity, t.c.record_id, t.c.state).where(
            t.c.status == "open", t.c.due_at <= engine.now()).distinct()).all()
    return sum(escalate(site, e, r, s) for e, r, s in rows)


@job(ESCALATE)
def escalate_job(ctx: JobContext) -> dict[str, Any]:
    p = ctx.payload
    return {"escalated": escalate(ctx.site, p["entity"], int(p["record_id"]), p["state"],
                                  p.get("task"))}


@job(ESCALATE_DUE)
def escalate_due_job(ctx: JobContext) -> dict[str, Any]:
    return {"escalated": escalate_due(ctx.site)}


def _aware(value: Any) -> Any:
    import datetime as dt

    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
