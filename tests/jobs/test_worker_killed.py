"""A worker killed mid-job (kill -9 on a real `yiti worker`) leads to exactly one effect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yiti.jobs import enqueue
from yiti.site import Site

from .conftest import FAST, wait_for


@pytest.fixture
def spawn(tmp_path: Path, modules: Path) -> Iterator[Callable[[Site], subprocess.Popen]]:
    started: list[subprocess.Popen] = []

    def start(site: Site) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": site.settings.database_url,
            "YITI_INSTANCE": str(site.settings.instance_path),
            "YITI_MODULES": str(modules), "YITI_PACKS": "jobpack",
            "YITI_QUEUE_NAME": site.jobs.settings.queue_name or "",
            "YITI_JOB_LEASE": "2", "YITI_JOB_RETRY_DELAY": "0.2", "YITI_JOB_REDISPATCH": "0",
            "YITI_JOB_POLL_MAX": "0.1", "SECRET_KEY": "test",
        }
        env.pop("REDIS_URL", None)
        if site.settings.redis_url:
            env["REDIS_URL"] = site.settings.redis_url
        log = open(tmp_path / f"worker-{len(started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "yiti.cli", "worker", "-w", "1"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_killed_worker_leaves_no_effect_and_the_rerun_applies_it_once(
        make_site: Callable[..., Site], backend: str, spawn: Callable[[Site], subprocess.Popen],
        tmp_path: Path) -> None:
    site = make_site(backend=backend, settings=FAST.with_(lease=2))
    first = spawn(site)
    marker = tmp_path / "stalled"
    job_id = enqueue(site, "jobpack.bump", {"counter": "kill", "stall_marker": str(marker)})
    wait_for(marker.exists, timeout=30)  # the job wrote its effect and stalls, uncommitted
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    row = site.jobs.get(job_id)
    assert (row["state"], row["attempts"]) == ("running", 1)
    assert site.records().list("counter", filters=[("code", "=", "kill")]).rows == []

    spawn(site)  # a fresh worker; the sweeper re-queues the job once its lease runs out

    def requeued() -> bool:  # by this sweep, or already by the new worker's own sweeper
        if site.jobs.sweep() == [job_id]:
            return True
        r = site.jobs.get(job_id)
        return r["state"] != "running" or r["attempts"] > 1

    # generous: on a busy machine a new worker takes many seconds to load the site
    wait_for(requeued, timeout=60)
    row = wait_for(lambda: (r := site.jobs.get(job_id))["state"] == "done" and r, timeout=90)
    assert row["attempts"] == 2
    assert "lease ran out" not in (row["error"] or "")  # done clears the error
    rows = site.records().list("counter", filters=[("code", "=", "kill")]).rows
    assert [r["value"] for r in rows] == [1]
