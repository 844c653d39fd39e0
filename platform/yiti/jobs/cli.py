"""``yiti worker``, ``yiti jobs ...`` and ``yiti schedules ...`` (added to the main command).

Imports stay inside the commands so ``yiti check`` doesn't pay for the queue libraries.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click


def _jobs() -> Any:
    from yiti.cli import _settings, _site
    from yiti.jobs import install

    return install(_site(_settings()))


@click.command()
@click.option("--workers", "-w", type=int, default=2, show_default=True,
              help="Worker threads (or processes) in this consumer.")
@click.option("--processes", is_flag=True, help="Run workers as processes, not threads.")
@click.option("--verbose", "-v", is_flag=True, help="Log every task.")
def worker(workers: int, processes: bool, verbose: bool) -> None:
    """Run jobs and schedules: a Huey consumer on this site's queue (Ctrl+C stops it).

    Embedded sites (no REDIS_URL) queue in instance/jobs.db; with REDIS_URL set, run as
    many workers, on as many hosts, as the load needs.
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs = _jobs()
    consumer = jobs.huey.create_consumer(
        workers=workers, worker_type="process" if processes else "thread",
        max_delay=jobs.settings.poll_max)
    where = jobs.site.settings.redis_url or str(jobs.site.settings.instance_path / "jobs.db")
    click.echo(f"yiti worker: {workers} worker(s) on {where}", err=True)
    consumer.run()


@click.group("jobs")
def jobs_group() -> None:
    """List, retry, cancel and run jobs."""


@jobs_group.command("list")
@click.option("--state", type=click.Choice(["queued", "running", "failed", "done", "cancelled"]))
@click.option("--limit", type=int, default=30, show_default=True)
def list_jobs(state: str | None, limit: int) -> None:
    """The latest jobs, newest first."""
    jobs = _jobs()
    for job in jobs.list(state=state, limit=limit):
        progress = (f" {job['progress_done']}/{job['progress_total']}"
                    if job["progress_total"] else "")
        error = f"  {job['error'].splitlines()[0]}" if job["error"] else ""
        click.echo(f"{job['id']:>6}  {job['state']:<9} {job['name']:<32} "
                   f"attempts {job['attempts']}/{job['max_attempts']}{progress}{error}")
    counts = jobs.counts()
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))


@jobs_group.command()
@click.argument("job_id", type=int)
def retry(job_id: int) -> None:
    """Queue a failed or cancelled job again."""
    _run(lambda jobs: jobs.retry(job_id), f"job {job_id} queued again")


@jobs_group.command()
@click.argument("job_id", type=int)
def cancel(job_id: int) -> None:
    """Cancel a queued, running or failed job."""
    _run(lambda jobs: jobs.cancel(job_id), f"job {job_id} cancelled")


@jobs_group.command("enqueue")
@click.argument("name")
@click.option("--payload", default="{}", help="JSON object passed to the job.")
@click.option("--key", help="Idempotency key.")
def enqueue_job(name: str, payload: str, key: str | None) -> None:
    """Queue job NAME (a worker runs it)."""
    jobs = _jobs()
    try:
        job_id = jobs.enqueue(name, json.loads(payload), key=key, user="cli")
    except (KeyError, ValueError) as error:
        click.echo(str(error.args[0] if error.args else error), err=True)
        sys.exit(1)
    click.echo(f"job {job_id} queued")


@jobs_group.command("run")
@click.option("--limit", type=int, default=100, show_default=True)
def run_due(limit: int) -> None:
    """Run due queued jobs here, without a worker (and sweep first)."""
    jobs = _jobs()
    jobs.sweep()
    click.echo(f"ran {jobs.drain(limit)} job(s)")


@click.group("schedules")
def schedules_group() -> None:
    """List, enable, disable and run schedules."""


@schedules_group.command("list")
def list_schedules() -> None:
    from yiti.jobs import schedules

    jobs = _jobs()
    for s in schedules.overview(jobs):
        state = "on " if s["enabled"] else "off"
        nxt = s["next_due"].isoformat() if s["next_due"] and s["enabled"] else "-"
        click.echo(f"{state} {s['name']:<28} {s['job']:<32} {s['when']:<32} next {nxt}")
    for problem in schedules.check(jobs):
        click.echo(problem, err=True)


@schedules_group.command()
@click.argument("name")
def enable(name: str) -> None:
    from yiti.jobs import schedules

    _run(lambda jobs: schedules.set_enabled(jobs, name, True), f"{name} enabled")


@schedules_group.command()
@click.argument("name")
def disable(name: str) -> None:
    from yiti.jobs import schedules

    _run(lambda jobs: schedules.set_enabled(jobs, name, False), f"{name} disabled")


@schedules_group.command("run")
@click.argument("name")
def run_schedule(name: str) -> None:
    """Queue a schedule's job now."""
    from yiti.jobs import schedules

    _run(lambda jobs: f"job {schedules.run_now(jobs, name, user='cli')} queued", None)


def _run(action: Any, message: str | None) -> None:
    from yiti.errors import YitiError

    jobs = _jobs()
    try:
        result = action(jobs)
    except YitiError as error:
        click.echo(error.message, err=True)
        sys.exit(1)
    click.echo(message or str(result))


COMMANDS = [worker, jobs_group, schedules_group]
