"""The retention job over large job-layer tables: how long it takes and how long its
longest transaction (one batch) is.

    .venv/bin/python bench/retention.py                     # SQLite, 200k old done jobs
    .venv/bin/python bench/retention.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/retention.py --jobs 1000000 --batch 5000

Fills ``yiti_job`` with old done jobs and as many recent ones (kept), plus old read
notifications and 2xx deliveries, then runs :func:`yiti.jobs.retention.purge` and prints
the rows deleted, the total time, and the slowest batch (the longest any lock is held).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path

from common import database
from sqlalchemy import event, insert

from yiti.jobs import FakeClock, JobSettings, install, retention
from yiti.site import Site
from yiti.testing import settings_for

CHUNK = 10_000


def fill(site: Site, jobs: int, now: dt.datetime) -> None:
    old, recent = now - dt.timedelta(days=60), now - dt.timedelta(days=1)
    t = site.tables["yiti_job"]
    notes, deliveries = site.tables["yiti_notification"], site.tables["yiti_webhook_delivery"]
    for start in range(0, 2 * jobs, CHUNK):
        rows = []
        for i in range(start, min(start + CHUNK, 2 * jobs)):
            when = old if i % 2 == 0 else recent  # old and kept rows interleaved
            rows.append({"name": "bench.job", "payload": {"i": i}, "state": "done",
                         "priority": 0, "attempts": 1, "max_attempts": 5, "run_after": when,
                         "created_at": when, "finished_at": when, "progress_done": 0})
        with site.engine.begin() as conn:
            conn.execute(insert(t), rows)
    for start in range(0, jobs // 4, CHUNK):
        count = min(CHUNK, jobs // 4 - start)
        with site.engine.begin() as conn:
            conn.execute(insert(notes), [{"user": "ann", "subject": "s", "body": "b",
                                          "created_at": old, "read_at": old}] * count)
            conn.execute(insert(deliveries), [{
                "webhook": "w", "event_id": uuid.uuid4().hex, "event": "created",
                "entity": "order", "attempt": 1, "at": old, "status_code": 200}
                for _ in range(count)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--jobs", type=int, default=200_000, help="old done jobs (as many kept)")
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with database(args.database_url, tmp) as url:
        run(url, tmp, args)


def run(url: str, tmp: Path, args: argparse.Namespace) -> None:
    site = Site(settings_for(url, tmp, packs=["example"]))
    try:
        site.migrate()
        now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
        jobs = install(site, settings=JobSettings(retention_batch=args.batch),
                       clock=FakeClock(now))
        started = time.perf_counter()
        fill(site, args.jobs, now)
        print(f"filled {2 * args.jobs:,} jobs, {args.jobs // 4:,} notifications and "
              f"{args.jobs // 4:,} deliveries in {time.perf_counter() - started:.1f} s")
        batches: list[float] = []
        began: dict[int, float] = {}

        @event.listens_for(site.engine, "begin")
        def _begin(conn: object) -> None:
            began[id(conn)] = time.perf_counter()

        @event.listens_for(site.engine, "commit")
        def _commit(conn: object) -> None:
            if id(conn) in began:
                batches.append(time.perf_counter() - began.pop(id(conn)))

        started = time.perf_counter()
        counts = retention.purge(jobs)
        total = time.perf_counter() - started
        batches.sort()
        print(f"deleted {counts} in {total:.2f} s, {len(batches)} transactions of at most "
              f"{args.batch} rows: median {batches[len(batches) // 2] * 1000:.1f} ms, "
              f"slowest {batches[-1] * 1000:.1f} ms ({url.split(':')[0]})")
    finally:
        site.close()


if __name__ == "__main__":
    main()
