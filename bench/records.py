"""Record service against hand-written SQLAlchemy Core, on the same table, in one run.

    .venv/bin/python bench/records.py                       # SQLite, 100k rows
    .venv/bin/python bench/records.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/records.py --database-url ... --rows 1000000 --skip-service-create

Prints, for bulk create and for a filtered, sorted list page, the time through the
record service, the time of the hand-written Core equivalent, and their ratio; then the
time of one indexed page of 50 rows (median of repeated runs). Bulk create alternates
batches of the two methods, so each writes into a table of the same size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path

from common import database, timed
from sqlalchemy import and_, insert, select, text

from yiti.db import create_engine as yiti_engine
from yiti.definitions import load_model
from yiti.definitions.model import Model
from yiti.site import Site
from yiti.testing import settings_for

ENTITY = """
entity: bench_order
label: Bench order
track_changes: false
fields:
  customer: {type: string, max_length: 40, indexed: true}
  channel: {type: select, options: [mall, store, wechat, tmall], indexed: true}
  amount: {type: money}
  qty: {type: integer}
  placed_at: {type: datetime, indexed: true}
"""
CHANNELS = ["mall", "store", "wechat", "tmall"]


def make_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [{
        "customer": f"c{rng.randrange(5000):05d}",
        "channel": rng.choice(CHANNELS),
        "amount": Decimal(rng.randrange(100, 1_000_000)) / 100,
        "qty": rng.randrange(1, 10),
        "placed_at": start + dt.timedelta(seconds=rng.randrange(0, 330 * 86400)),
    } for _ in range(n)]


def profile_create_many(records, n: int, batch: int) -> None:  # noqa: ANN001
    """cProfile of create_many over ``n`` rows in batches, the first batch left out (it
    builds the entity's parsers and compiles the statements)."""
    import cProfile
    import pstats

    rows = make_rows(n, 1)
    records.create_many("bench_order", rows[:batch])
    profile = cProfile.Profile()
    profile.enable()
    for i in range(batch, n, batch):
        records.create_many("bench_order", rows[i:i + batch])
    profile.disable()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--skip-service-create", action="store_true",
                        help="load the big table by hand (for --rows 1000000)")
    parser.add_argument("--profile", action="store_true",
                        help="only profile create_many (cProfile) over --rows rows")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="yiti-bench-"))
    pack = tmp / "packs" / "bench"
    (pack / "entities").mkdir(parents=True)
    (pack / "module.yaml").write_text("name: bench\nversion: '1'\nlabel: Bench\n")
    (pack / "entities" / "bench_order.yaml").write_text(textwrap.dedent(ENTITY))
    model = load_model([tmp / "packs"])

    with database(args.database_url, tmp) as url:
        run(url, tmp, model, args)


def run(url: str, tmp: Path, model: Model, args: argparse.Namespace) -> None:
    site = Site(settings_for(url, tmp), model=model, engine=yiti_engine(url))
    site.migrate()
    table = site.tables["bench_order"]
    records = site.records()
    n = args.rows
    total = n if args.skip_service_create else 2 * n
    print(f"database: {site.engine.dialect.name}, rows: {n:,} per method, "
          f"{total:,} in the table")
    try:
        if args.profile:
            profile_create_many(records, n, args.batch)
            return
        # -- bulk create ---------------------------------------------------------
        service_rows = [] if args.skip_service_create else make_rows(n, 1)
        hand_rows = make_rows(n, 2)
        now = dt.datetime.now(dt.UTC)

        def by_hand(i: int) -> None:
            chunk = [dict(r, version=1, created_at=now, modified_at=now,
                          created_by="bench", modified_by="bench")
                     for r in hand_rows[i:i + args.batch]]
            with site.engine.begin() as conn:
                conn.execute(insert(table), chunk)

        def through_service(i: int) -> None:
            records.create_many("bench_order", service_rows[i:i + args.batch])

        # Batch by batch, alternately, so both methods insert into a table (and indexes)
        # of the same size: the later of two 100k loads costs more on its own.
        # CPU time of this process too: on a shared machine it moves less than wall time
        # (on SQLite all the work is in this process; on PostgreSQL the server's is not).
        hand = service = hand_cpu = service_cpu = 0.0
        for i in range(0, n, args.batch):
            cpu = time.process_time()
            hand += timed(lambda i=i: by_hand(i))
            hand_cpu += time.process_time() - cpu
            if not args.skip_service_create:
                cpu = time.process_time()
                service += timed(lambda i=i: through_service(i))
                service_cpu += time.process_time() - cpu
        if args.skip_service_create:
            print(f"bulk create: hand-written {hand:.2f}s ({n / hand:,.0f} rows/s); "
                  "service skipped")
        else:
            print(f"bulk create: service {service:.2f}s ({n / service:,.0f} rows/s), "
                  f"hand-written {hand:.2f}s ({n / hand:,.0f} rows/s), "
                  f"ratio {service / hand:.2f}x; CPU in this process: service "
                  f"{service_cpu:.2f}s, hand-written {hand_cpu:.2f}s, "
                  f"ratio {service_cpu / hand_cpu:.2f}x")
        with site.engine.begin() as conn:
            if site.engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE bench_order"))
            else:
                conn.exec_driver_sql("ANALYZE")

        # -- filtered, sorted page ------------------------------------------------
        since = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
        filters = [("channel", "=", "wechat"), ("placed_at", ">=", since)]

        def service_page() -> None:
            page = records.list("bench_order", filters=filters, sort=["-placed_at"], limit=50)
            assert len(page.rows) == 50

        def hand_page() -> None:
            with site.engine.connect() as conn:
                rows = conn.execute(
                    select(table).where(and_(table.c.channel == "wechat",
                                             table.c.placed_at >= since))
                    .order_by(table.c.placed_at.desc(), table.c.id.desc()).limit(50)
                ).mappings().all()
                assert len(rows) == 50

        service_page()
        hand_page()
        s_page = timed(service_page, args.repeat)
        h_page = timed(hand_page, args.repeat)
        print(f"filtered, sorted page of 50: service {s_page * 1000:.2f} ms, "
              f"hand-written {h_page * 1000:.2f} ms, ratio {s_page / h_page:.2f}x "
              f"(median of {args.repeat})")

        # -- the next page by keyset, deep in the table ---------------------------
        page = records.list("bench_order", filters=filters, sort=["-placed_at"], limit=50)
        for _ in range(20):
            page = records.list("bench_order", filters=filters, sort=["-placed_at"], limit=50,
                                after_cursor=page.next)
        cursor = page.next
        deep = timed(lambda: records.list("bench_order", filters=filters, sort=["-placed_at"],
                                          limit=50, after_cursor=cursor), args.repeat)
        print(f"keyset page 22 of the same list: service {deep * 1000:.2f} ms")
        count = timed(lambda: records.count("bench_order", filters=filters), 5)
        print(f"capped count (10,000) of the same filter: {count * 1000:.2f} ms")
    finally:
        site.close()


if __name__ == "__main__":
    main()
