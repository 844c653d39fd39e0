"""Enqueue-after-commit: the outbox row commits with the caller's work, or not at all."""

from __future__ import annotations

import time

import pytest

from yiti.jobs import enqueue
from yiti.jobs.embedded import start_consumer
from yiti.site import Site

from .conftest import wait_for


def counter(site: Site, code: str) -> int | None:
    rows = site.records().list("counter", filters=[("code", "=", code)]).rows
    return rows[0]["value"] if rows else None


def test_job_enqueued_in_a_committed_transaction_runs(site: Site, consumer: object) -> None:
    records = site.records()
    with records.unit_of_work():
        records.create("counter", {"code": "orders", "value": 0})
        job_id = enqueue(site, "jobpack.bump", {"counter": "orders"})
        assert site.jobs.get(job_id)["state"] == "queued"
    wait_for(lambda: site.jobs.get(job_id)["state"] == "done")
    assert counter(site, "orders") == 1
    assert site.jobs.get(job_id)["result"] == {"value": 1}


def test_job_enqueued_in_a_rolled_back_transaction_never_runs(site: Site, consumer: object
                                                              ) -> None:
    records = site.records()
    with pytest.raises(RuntimeError), records.unit_of_work():
        records.create("counter", {"code": "ghost", "value": 0})
        enqueue(site, "jobpack.bump", {"counter": "ghost"})
        raise RuntimeError("the caller changes its mind")
    witness = enqueue(site, "jobpack.bump", {"counter": "witness"})
    wait_for(lambda: site.jobs.get(witness)["state"] == "done")
    time.sleep(0.3)  # give a stray job every chance to show up
    assert counter(site, "ghost") is None
    assert [j["id"] for j in site.jobs.list()] == [witness]
    site.jobs.sweep()
    assert site.jobs.drain() == 0


def test_idempotency_key_gives_one_job(site: Site) -> None:
    first = enqueue(site, "jobpack.bump", {"counter": "k"}, key="bump:2026-05-01")
    again = enqueue(site, "jobpack.bump", {"counter": "k"}, key="bump:2026-05-01")
    assert first == again
    assert len(site.jobs.list()) == 1


def test_sweeper_hands_over_a_job_whose_dispatch_was_lost(site: Site) -> None:
    records = site.records()
    with records.unit_of_work() as tx:
        job_id = enqueue(site, "jobpack.bump", {"counter": "lost"})
        tx.after_commit.clear()  # as if the process died between commit and dispatch
    assert site.jobs.get(job_id)["dispatched_at"] is None
    assert site.jobs.sweep() == [job_id]
    assert site.jobs.get(job_id)["dispatched_at"] is not None
    with start_consumer(site.jobs):
        wait_for(lambda: site.jobs.get(job_id)["state"] == "done")
    assert counter(site, "lost") == 1


def test_unknown_job_is_refused_with_a_hint(site: Site) -> None:
    with pytest.raises(KeyError, match="did you mean 'jobpack.bump'"):
        enqueue(site, "jobpack.bumb")
