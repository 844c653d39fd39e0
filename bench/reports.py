"""A monthly sales-by-channel-by-category report: the report engine against hand-written SQL.

    .venv/bin/python bench/reports.py                        # SQLite, 1,000,000 order lines
    .venv/bin/python bench/reports.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/reports.py --lines 200000 --repeat 5

Builds a bench pack in a temporary folder (products with a category, orders with a channel
and a datetime, order lines with product, qty and amount), loads it by hand, then times in
the same run (median of ``--repeat``) the report run through the engine
(:func:`yiti.reports.run_report`: parameters, compilation, row rule, execution, rows) and
the hand-written query a developer would write, and prints both and their ratio. It also
checks the two give the same numbers.

The report is declared in the pack (``reports/monthly_sales.yaml``), so ``site.migrate()``
does what ``yiti migrate`` does for declared reports on PostgreSQL (docs/reports.md,
"Bucket columns and statistics"): a stored bucket column for the order's month in the site's
zone, and statistics on it and the channel. The hand-written query groups by that column
too when it is there (a developer would), so both read the same columns.
``--without bucket-columns`` drops the column and keeps statistics on the month
expression instead; ``--without all`` drops both (the plain tables).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path

import yaml
from common import database, timed
from sqlalchemy import (
    Date,
    cast,
    func,
    insert,
    literal_column,
    select,
    text,
)

from yiti.db import create_engine as yiti_engine
from yiti.definitions import load_model
from yiti.definitions.model import Model
from yiti.permissions.policy import SYSTEM
from yiti.reports import report_of, run_report
from yiti.reports.statistics import bucket_column, bucket_sql
from yiti.schema.statistics import derived_columns
from yiti.site import Site
from yiti.testing import settings_for

FILES = {
    "entities/bench_product.yaml": """
        entity: bench_product
        track_changes: false
        fields:
          code: {type: string, max_length: 20}
          category: {type: select, options: [food, toys, books, home, beauty, sports]}
    """,
    "entities/bench_order.yaml": """
        entity: bench_order
        track_changes: false
        fields:
          channel: {type: select, options: [mall, store, wechat, tmall], indexed: true}
          placed_at: {type: datetime, indexed: true}
          lines: {type: table, entity: bench_order_line}
    """,
    "entities/bench_order_line.yaml": """
        entity: bench_order_line
        child: true
        fields:
          product: {type: link, entity: bench_product}
          qty: {type: integer}
          amount: {type: money}
    """,
}
REPORT = {
    "report": "monthly_sales", "entity": "bench_order_line",
    "params": {"from": {"type": "date"}, "to": {"type": "date"}},
    "filters": [["parent.placed_at", ">=", ":from"], ["parent.placed_at", "<", ":to"]],
    "group_by": [{"field": "parent.placed_at", "bucket": "month", "name": "month"},
                 {"field": "parent.channel", "name": "channel"},
                 {"field": "product.category", "name": "category"}],
    "measures": [{"agg": "sum", "field": "amount", "name": "amount"},
                 {"agg": "sum", "field": "qty", "name": "qty"},
                 {"agg": "count", "name": "lines"}],
}
CHANNELS = ["mall", "store", "wechat", "tmall"]
CATEGORIES = ["food", "toys", "books", "home", "beauty", "sports"]
UTC = dt.UTC


def load(site: Site, n_lines: int, batch: int = 20_000) -> None:
    """Products, orders (4 lines each on average) and lines, inserted by hand."""
    rng = random.Random(11)
    now = dt.datetime.now(UTC)
    stamp = {"version": 1, "created_at": now, "modified_at": now}
    t = site.tables
    products = [{"id": i + 1, "code": f"P{i}", "category": CATEGORIES[i % 6], **stamp}
                for i in range(500)]
    n_orders = n_lines // 4
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    with site.engine.begin() as conn:
        conn.execute(insert(t["bench_product"]), products)
        for lo in range(0, n_orders, batch):
            conn.execute(insert(t["bench_order"]), [{
                "id": i + 1, "channel": rng.choice(CHANNELS),
                "placed_at": start + dt.timedelta(seconds=rng.randrange(0, 365 * 86400)),
                **stamp} for i in range(lo, min(lo + batch, n_orders))])
        for lo in range(0, n_lines, batch):
            conn.execute(insert(t["bench_order_line"]), [{
                "parent_id": i // 4 + 1, "idx": i % 4 + 1, "product": rng.randrange(1, 501),
                "qty": rng.randrange(1, 10),
                "amount": Decimal(rng.randrange(100, 100_000)) / 100, **stamp}
                for i in range(lo, min(lo + batch, n_lines))])
        if site.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE")


def undo(site: Site, what: str) -> None:
    """Drop the bucket columns (and statistics on them), then statistics on the month
    expression instead (``bucket-columns``) or nothing more (``all``); analyse."""
    with site.engine.begin() as conn:
        for table_name, name in derived_columns(conn):
            conn.execute(text(f'ALTER TABLE "{table_name}" DROP COLUMN "{name}"'))
        for name in conn.execute(text(
                "SELECT stxname FROM pg_statistic_ext WHERE stxname LIKE 'ystat%' "
                "AND stxnamespace = current_schema()::regnamespace")).scalars():
            conn.execute(text(f'DROP STATISTICS "{name}"'))
        if what == "bucket-columns":
            month = bucket_sql(site.metadata, "bench_order", "placed_at", "datetime", "month",
                               site.settings.timezone)
            conn.execute(text(f"CREATE STATISTICS bench_month ON ({month}), channel "
                              "FROM bench_order"))
        conn.execute(text("ANALYZE"))


def hand_written(site: Site, since: dt.datetime, until: dt.datetime):  # noqa: ANN201
    """The query a developer would write by hand for the same report (grouping by the
    order's bucket column when the database has one)."""
    line, order, product = (site.tables[n] for n in
                            ("bench_order_line", "bench_order", "bench_product"))
    tz = site.settings.timezone
    with site.engine.connect() as conn:
        stored = derived_columns(conn, ["bench_order"])
    column = bucket_column(site.metadata, "bench_order", "placed_at", "month", tz)
    if ("bench_order", column) in stored:
        month = literal_column(f'bench_order."{column}"', type_=Date)
    elif site.engine.dialect.name == "postgresql":
        local = order.c.placed_at.op("AT TIME ZONE")(literal_column(f"'{tz}'"))
        month = cast(func.date_trunc(literal_column("'month'"), local), Date)
    else:
        minutes = int(dt.datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo(tz))
                      .utcoffset().total_seconds() // 60)
        month = func.date(order.c.placed_at, literal_column(f"'{minutes:+d} minutes'"),
                          literal_column("'start of month'"), type_=Date)
    qty = func.sum(line.c.qty)
    if site.engine.dialect.name == "postgresql":
        from sqlalchemy import BigInteger

        qty = cast(qty, BigInteger)
    return (select(month.label("month"), order.c.channel, product.c.category,
                   func.sum(line.c.amount).label("amount"), qty.label("qty"),
                   func.count().label("lines"))
            .select_from(line.join(order, order.c.id == line.c.parent_id)
                         .join(product, product.c.id == line.c.product))
            .where(order.c.placed_at >= since, order.c.placed_at < until)
            .group_by(month, order.c.channel, product.c.category)
            .order_by(month, order.c.channel, product.c.category))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--without", choices=["all", "bucket-columns"], default=None,
                        help="drop what yiti migrate made for the report: everything, or "
                             "the bucket column (keeping statistics on the expression)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="yiti-bench-reports-"))
    pack = tmp / "packs" / "bench"
    for name, body in FILES.items():
        (pack / name).parent.mkdir(parents=True, exist_ok=True)
        (pack / name).write_text(textwrap.dedent(body))
    (pack / "reports").mkdir()
    (pack / "reports" / "monthly_sales.yaml").write_text(yaml.safe_dump(REPORT))
    (pack / "module.yaml").write_text("name: bench\nversion: '1'\nlabel: Bench\n")
    model = load_model([tmp / "packs"])

    with database(args.database_url, tmp) as url:
        run(url, tmp, model, args)


def run(url: str, tmp: Path, model: Model, args: argparse.Namespace) -> None:
    site = Site(settings_for(url, tmp), model=model, engine=yiti_engine(url))
    try:
        made = [s for s in site.migrate().steps
                if s.kind in ("add derived column", "add statistics")]
        t0 = time.perf_counter()
        load(site, args.lines)
        if args.without and site.engine.dialect.name == "postgresql":
            undo(site, args.without)
        for s in made:
            print(f"{s}{f' (then dropped: --without {args.without})' if args.without else ''}")
        print(f"database: {site.engine.dialect.name}, order lines: {args.lines:,} "
              f"(loaded in {time.perf_counter() - t0:.1f}s)")
        report = report_of(site, "monthly_sales")
        params = {"from": "2025-01-01", "to": "2026-01-01"}
        zone = __import__("zoneinfo").ZoneInfo(site.settings.timezone)
        since = dt.datetime(2025, 1, 1, tzinfo=zone)
        until = dt.datetime(2026, 1, 1, tzinfo=zone)
        query = hand_written(site, since, until)

        def engine_run() -> list:
            return run_report(site, SYSTEM, report, params).rows

        def hand_run() -> list:
            with site.engine.connect() as conn:
                return conn.execute(query).all()

        mine, theirs = engine_run(), hand_run()
        assert [tuple(r.values.values()) for r in mine] == [tuple(r) for r in theirs], \
            "the engine and the hand-written query disagree"
        # Interleaved, so a busy machine slows both alike.
        pairs = [(timed(engine_run, 1), timed(hand_run, 1)) for _ in range(args.repeat)]
        engine_time = statistics.median(e for e, _ in pairs)
        hand_time = statistics.median(h for _, h in pairs)
        print(f"monthly sales by channel by category ({len(mine)} rows): "
              f"report engine {engine_time * 1000:.0f} ms, hand-written SQL "
              f"{hand_time * 1000:.0f} ms, ratio {engine_time / hand_time:.2f}x "
              f"(median of {args.repeat})")
    finally:
        site.close()


if __name__ == "__main__":
    main()
