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


def test_migrate_keeps_statistics_for_declared_reports(pg_url: str, tmp_path: Path) -> None:
    site = make_site(pg_url, tmp_path)
    try:
        made = _statistics(site)
        on_sale = [d for d in made.values() if " FROM sale" in d]
        # monthly_sales: the month of the parent's placed_at in the site's zone and the
        # channel, together; sales_by_channel's keys are one plain column per table
        assert len(on_sale) == 1, made
        assert "date_trunc('month'" in on_sale[0] and "Asia/Shanghai" in on_sale[0]
        assert "channel" in on_sale[0]
        assert not [s for s in site.migrate().steps if "statistics" in s.kind]
    finally:
        site.close()

    # Another time zone: the bucket expression changed, so do its statistics.
    berlin = Site(dataclasses.replace(settings_for(pg_url, tmp_path, modules=[PACKS]),
                                      timezone="Europe/Berlin"))
    try:
        steps = {s.kind for s in berlin.migrate().steps}
        assert {"add statistics", "drop statistics"} <= steps
        assert all("Europe/Berlin" in d for d in _statistics(berlin).values()
                   if "date_trunc" in d)
    finally:
        berlin.close()

    # The report removed: its statistics go (they hold no data).
    packs = tmp_path / "packs"
    shutil.copytree(PACKS, packs)
    (packs / "shop" / "reports" / "monthly_sales.yaml").unlink()
    (packs / "shop" / "dashboards" / "shop.yaml").unlink(missing_ok=True)
    without = Site(settings_for(pg_url, tmp_path, modules=[packs]))
    try:
        assert "drop statistics" in {s.kind for s in without.migrate().steps}
        assert not [d for d in _statistics(without).values() if "date_trunc" in d]
    finally:
        without.close()


def _estimated_groups(site: Site) -> tuple[float, int]:
    """PostgreSQL's estimate of the monthly report's rows, and the rows it returns."""
    report = report_of(site, "monthly_sales")
    params = param_values(report, {}, site.model, site.settings.timezone)
    query = ReportCompiler(site, SYSTEM, report, params, None).compile().query
    sql = str(query.compile(site.engine, compile_kwargs={"literal_binds": True}))
    with site.engine.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
        rows = len(conn.execute(query).all())
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return plan[0]["Plan"]["Plan Rows"], rows


def test_statistics_let_postgres_estimate_the_few_groups(pg_url: str, tmp_path: Path) -> None:
    site = make_site(pg_url, tmp_path)
    try:
        fill(site, n_sales=1500)
        with site.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        estimate, actual = _estimated_groups(site)
        assert actual <= 5 * 3 * 3  # months (120 days) x channels x categories
        assert estimate <= 3 * actual, (estimate, actual)
        with site.engine.begin() as conn:
            for name in _statistics(site):
                conn.execute(text(f'DROP STATISTICS "{name}"'))
            conn.execute(text("ANALYZE"))
        blind, _ = _estimated_groups(site)
        assert blind > 20 * actual, (blind, actual)  # a group per timestamp, nearly
        assert "add statistics" in {s.kind for s in site.migrate().steps}
        assert _estimated_groups(site)[0] <= 3 * actual  # migrate analysed the table
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
