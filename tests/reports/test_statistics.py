"""Statistics for declared reports (PostgreSQL): ``yiti migrate`` keeps them, PostgreSQL
then estimates a report's few groups, and the numbers stay those computed in Python."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from yiti.permissions.policy import SYSTEM
from yiti.reports import report_of, run_report
from yiti.reports.compile import ReportCompiler
from yiti.reports.params import values as param_values
from yiti.reports.spec import read
from yiti.schema.statistics import derived_columns
from yiti.site import Site
from yiti.testing import postgres_url, settings_for, temporary_database

from .conftest import PACKS, Shop, fill, make_site
from .test_aggregates import agg


def _statistics(site: Site) -> dict[str, str]:
    """The engine's statistics objects in the site's schema: name → definition."""
    with site.engine.connect() as conn:
        return dict(tuple(r) for r in conn.execute(text(
            "SELECT stxname, pg_get_statisticsobjdef(oid) FROM pg_statistic_ext "
            "WHERE stxnamespace = current_schema()::regnamespace "
            "AND stxname LIKE 'ystat\\_%'")).all())


def _shanghai_month(at: dt.datetime) -> dt.date:
    return at.astimezone(ZoneInfo("Asia/Shanghai")).date().replace(day=1)


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    if not postgres_url():
        pytest.skip("statistics objects are PostgreSQL's: set YITI_TEST_DATABASE_URL")
    with temporary_database(tmp_path) as url:
        yield url


def test_monthly_report_matches_python(shop: Shop) -> None:
    """The report the statistics are made for, against the oracle, on both databases."""
    report = report_of(shop.site, "monthly_sales")
    result = run_report(shop.site, SYSTEM, report, {"from": "2026-01-01", "to": "2026-03-01"})
    since, until = (dt.datetime(2026, m, 1, tzinfo=ZoneInfo("Asia/Shanghai")) for m in (1, 3))
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for line in shop.lines():
        placed = line["sale"]["placed_at"]
        if since <= placed < until:
            groups[(_shanghai_month(placed), line["sale"]["channel"],
                    line["product_row"]["category"])].append(line)
    got = {}
    for row in result.rows:
        v = {c.name: row.values[c.key] for c in result.columns}
        got[(v["month"], v["channel"], v["category"])] = (v["amount"], v["qty"], v["lines"])
    want = {k: (agg("sum", [r["amount"] for r in rows]), agg("sum", [r["qty"] for r in rows]),
                len(rows)) for k, rows in groups.items()}
    assert {m for m, _, _ in want} == {dt.date(2026, 1, 1), dt.date(2026, 2, 1)}
    assert got == want


def _bucket_columns(site: Site) -> dict[tuple[str, str], str]:
    """The derived columns in the site's schema: (table, column) → generation expression."""
    with site.engine.connect() as conn:
        return {(t, c): e for t, c, e in conn.execute(text(
            "SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND a.attname LIKE '\\_y\\_%' AND NOT a.attisdropped"))}


def _drop_bucket_columns(site: Site) -> None:
    with site.engine.begin() as conn:
        for (table_name, name) in _bucket_columns(site):
            conn.execute(text(f'ALTER TABLE "{table_name}" DROP COLUMN "{name}"'))
        conn.execute(text("ANALYZE"))


def test_migrate_keeps_bucket_columns_and_statistics(pg_url: str, tmp_path: Path) -> None:
    site = make_site(pg_url, tmp_path)
    try:
        # monthly_sales: the month of the parent's placed_at in the site's zone, stored
        # on the sale; statistics on it and the channel together. sales_by_channel's keys
        # are one plain column per table: nothing for it.
        columns = _bucket_columns(site)
        assert list(columns) == [("sale", next(iter(columns))[1])], columns
        ((_, column), expression), = columns.items()
        assert column.startswith("_y_placed_at_month_")
        assert "date_trunc('month'" in expression and "Asia/Shanghai" in expression
        stats = list(_statistics(site).values())
        assert len(stats) == 1 and column in stats[0] and "channel" in stats[0], stats
        assert not [s for s in site.migrate().steps if s.kind != "add search index"]
    finally:
        site.close()

    # Another time zone: another bucket, so another column and its statistics.
    berlin = Site(dataclasses.replace(settings_for(pg_url, tmp_path, modules=[PACKS]),
                                      timezone="Europe/Berlin"))
    try:
        steps = {s.kind for s in berlin.migrate().steps}
        assert {"drop derived column", "add derived column", "add statistics"} <= steps
        assert column not in {c for _, c in _bucket_columns(berlin)}
        assert all("Europe/Berlin" in e for e in _bucket_columns(berlin).values())
    finally:
        berlin.close()

    # The report removed: its column and statistics go (they hold no data of their own).
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    (packs / "shop" / "reports" / "monthly_sales.yaml").unlink()
    without = Site(settings_for(pg_url, tmp_path, modules=[packs]))
    try:
        assert {"drop derived column"} <= {s.kind for s in without.migrate().steps}
        assert not _bucket_columns(without) and not _statistics(without)
    finally:
        without.close()


def test_a_field_with_a_bucket_column_can_be_renamed(pg_url: str, tmp_path: Path) -> None:
    """Stale bucket columns go first, so the field they read can be renamed."""
    site = make_site(pg_url, tmp_path)
    fill(site, n_sales=30)
    site.close()
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    sale = packs / "shop" / "entities" / "sale.yaml"
    sale.write_text(sale.read_text().replace(
        "placed_at: {type: datetime}", "ordered_at: {type: datetime, renamed_from: placed_at}"))
    report = packs / "shop" / "reports" / "monthly_sales.yaml"
    report.write_text(report.read_text().replace("parent.placed_at", "parent.ordered_at"))
    renamed = Site(settings_for(pg_url, tmp_path, modules=[packs]))
    try:
        kinds = [s.kind for s in renamed.migrate().steps]
        assert kinds.index("drop derived column") < kinds.index("rename column") \
            < kinds.index("add derived column"), kinds
        assert [c for _, c in _bucket_columns(renamed)][0].startswith("_y_ordered_at_month_")
        result = run_report(renamed, SYSTEM, report_of(renamed, "monthly_sales"), {})
        lines = next(c.key for c in result.columns if c.name == "lines")
        with renamed.engine.connect() as conn:
            want = conn.execute(text("SELECT count(*) FROM sale_line")).scalar_one()
        assert sum(r.values[lines] for r in result.rows) == want > 0
    finally:
        renamed.close()


def _estimated_groups(site: Site) -> tuple[float, int, str]:
    """PostgreSQL's estimate of the monthly report's rows, the rows it returns, its SQL."""
    report = report_of(site, "monthly_sales")
    params = param_values(report, {}, site.model, site.settings.timezone)
    with site.engine.connect() as conn:
        stored = derived_columns(conn, ["sale"])
    query = ReportCompiler(site, SYSTEM, report, params, None,
                           bucket_columns=stored).compile().query
    sql = str(query.compile(site.engine, compile_kwargs={"literal_binds": True}))
    with site.engine.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
        rows = len(conn.execute(query).all())
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"], rows, sql


def test_postgres_estimates_the_few_groups(pg_url: str, tmp_path: Path) -> None:
    site = make_site(pg_url, tmp_path)
    try:
        fill(site, n_sales=1500)
        with site.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        estimate, actual, sql = _estimated_groups(site)
        assert "_y_placed_at_month_" in sql
        assert actual <= 5 * 3 * 3  # months (120 days) x channels x categories
        assert estimate <= 3 * actual, (estimate, actual)
        _drop_bucket_columns(site)  # the report falls back to the expression...
        blind, again, sql = _estimated_groups(site)
        assert "date_trunc" in sql and again == actual
        assert blind > 20 * actual, (blind, actual)  # ...a group per timestamp, nearly
        assert "add derived column" in {s.kind for s in site.migrate().steps}
        assert _estimated_groups(site)[0] <= 3 * actual  # migrate analysed the table
    finally:
        site.close()


def test_bucket_column_follows_writes(pg_url: str, tmp_path: Path) -> None:
    """The stored month is recomputed when a sale moves, and equals the expression."""
    site = make_site(pg_url, tmp_path)
    try:
        shop = fill(site, n_sales=60)
        report = report_of(site, "monthly_sales")

        def months() -> dict[Any, int]:
            result = run_report(site, SYSTEM, report, {})
            out: dict[Any, int] = defaultdict(int)
            for row in result.rows:
                v = {c.name: row.values[c.key] for c in result.columns}
                out[v["month"]] += v["lines"]
            return dict(out)

        def oracle() -> dict[Any, int]:
            out: dict[Any, int] = defaultdict(int)
            for line in shop.lines():
                out[_shanghai_month(line["sale"]["placed_at"])] += 1
            return dict(out)

        assert months() == oracle()
        # 2026-03-31 16:30 UTC is 1 April in Shanghai (31 March in UTC): the sale moves
        # to another month.
        moved = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)
        assert _shanghai_month(shop.sales[0]["placed_at"]) != _shanghai_month(moved)
        with site.engine.connect() as conn:  # the first sale inserted
            sale_id = conn.execute(text("SELECT min(id) FROM sale")).scalar_one()
        site.records().update("sale", sale_id, {"placed_at": moved})
        shop.sales[0]["placed_at"] = moved
        assert months() == oracle()
        # A report over the sales themselves (not declared) finds the same column.
        by_sale = read("by_sale", {"report": "by_sale", "entity": "sale", "group_by": [
            {"field": "placed_at", "bucket": "month", "name": "month"}],
            "measures": [{"agg": "count", "name": "n"}]})
        with site.engine.connect() as conn:
            stored = derived_columns(conn, ["sale"])
        compiled = ReportCompiler(site, SYSTEM, by_sale, {}, None,
                                  bucket_columns=stored).compile()
        assert "sale._y_placed_at_month_" in str(compiled.query)
        want: dict[Any, int] = defaultdict(int)
        for sale in shop.sales:
            want[_shanghai_month(sale["placed_at"])] += 1
        assert {r.values["c0"]: r.values["c1"] for r in
                run_report(site, SYSTEM, by_sale, {}).rows} == dict(want)
        with_column = run_report(site, SYSTEM, report, {}).rows
        _drop_bucket_columns(site)
        assert [r.values for r in run_report(site, SYSTEM, report, {}).rows] == \
            [r.values for r in with_column]
    finally:
        site.close()


def test_sqlite_gets_no_statistics(tmp_path: Path) -> None:
    site = Site(settings_for(f"sqlite:///{tmp_path / 'test.db'}", tmp_path, modules=[PACKS]))
    try:
        steps = site.migrate().steps
        assert any(s.kind == "create table" for s in steps)
        assert not [s for s in steps if "statistics" in s.kind]
        with site.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master "
                                        "WHERE name LIKE 'ystat%'").scalar_one() == 0
    finally:
        site.close()
