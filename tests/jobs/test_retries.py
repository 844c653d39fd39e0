"""Failed jobs retry with exponential back-off and end failed, with the error shown."""

from __future__ import annotations

import datetime as dt

from yiti.jobs import enqueue
from yiti.jobs.registry import job
from yiti.jobs.runner import PermanentError
from yiti.site import Site

from .conftest import wait_for


def test_retries_back_off_then_fail_with_the_error(site: Site, consumer: object) -> None:
    job_id = enqueue(site, "jobpack.fail")
    row = wait_for(lambda: (r := site.jobs.get(job_id))["state"] == "failed" and r, timeout=15)
    assert row["attempts"] == 3  # the handler's max_attempts
    assert row["error"].startswith("RuntimeError: boom on attempt 3")
    assert "Traceback" in row["error"]
    # two waits, 0.2 s then 0.4 s: the whole run can't have been quicker than that
    assert row["finished_at"] - row["created_at"] >= dt.timedelta(seconds=0.6)


def test_backoff_doubles_up_to_its_cap(site: Site) -> None:
    settings = site.jobs.settings
    assert [settings.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.2, 0.4, 0.8, 1.0, 1.0]


@job("jobtest.permanent")
def permanent(ctx):  # noqa: ANN001, ANN201
    raise PermanentError("the order no longer exists")


def test_permanent_error_fails_at_once(site: Site) -> None:
    job_id = enqueue(site, "jobtest.permanent")
    assert site.jobs.run(job_id) == "failed"
    row = site.jobs.get(job_id)
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert "the order no longer exists" in row["error"]


def test_retry_and_cancel(site: Site) -> None:
    job_id = enqueue(site, "jobtest.permanent")
    site.jobs.run(job_id)
    site.jobs.retry(job_id)
    row = site.jobs.get(job_id)
    assert (row["state"], row["attempts"]) == ("queued", 0)
    site.jobs.cancel(job_id)
    assert site.jobs.get(job_id)["state"] == "cancelled"
    assert site.jobs.run(job_id) == "skipped"


def test_cancelling_a_running_job_rolls_its_work_back(site: Site) -> None:
    job_id = enqueue(site, "jobpack.chunks", {"total": 3})
    original = site.jobs.run

    # cancel between the claim and the second chunk, as an administrator would
    from yiti.jobs import runner

    claim = runner.claim

    def claim_then_watch(jobs, ident):  # noqa: ANN001, ANN202
        ctx = claim(jobs, ident)
        step = ctx.step

        def step_and_cancel(done, total=None):  # noqa: ANN001, ANN202
            if done == 2:
                jobs.cancel(ident)
            return step(done, total)

        ctx.step = step_and_cancel
        return ctx

    runner.claim = claim_then_watch
    try:
        assert original(job_id) == "lost"
    finally:
        runner.claim = claim
    assert site.jobs.get(job_id)["state"] == "cancelled"
    rows = site.records().list("counter", filters=[("code", "=", "chunks")]).rows
    assert rows[0]["value"] == 1  # chunk 1 committed; chunk 2 rolled back with the cancel


def test_a_long_job_resumes_after_its_last_committed_chunk(site: Site) -> None:
    job_id = enqueue(site, "jobpack.chunks", {"total": 4})
    t = site.jobs.table
    from sqlalchemy import update

    with site.engine.begin() as conn:  # as if an earlier attempt committed two chunks
        conn.execute(update(t).where(t.c.id == job_id).values(progress_done=2,
                                                              progress_total=4))
    assert site.jobs.run(job_id) == "done"
    row = site.jobs.get(job_id)
    assert (row["progress_done"], row["progress_total"]) == (4, 4)
    rows = site.records().list("counter", filters=[("code", "=", "chunks")]).rows
    assert rows[0]["value"] == 2  # only chunks 3 and 4 ran
