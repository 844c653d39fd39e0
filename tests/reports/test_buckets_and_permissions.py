"""Date buckets at their boundaries, the site's time zone, and permissions inside the query."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from yiti.permissions.policy import SYSTEM
from yiti.reports import kpi, report_of, run_report
from yiti.reports.buckets import start_of
from yiti.reports.kpi import periods
from yiti.reports.spec import read

from .conftest import Shop

UTC = dt.UTC


@pytest.mark.parametrize("unit", ["day", "week", "month", "quarter", "year"])
def test_date_buckets_match_python(shop: Shop, unit: str) -> None:
    report = read("b", {"report": "b", "entity": "sale",
                        "group_by": [{"field": "sold_on", "bucket": unit, "name": "period"}],
                        "measures": [{"agg": "count", "name": "n"}]})
    result = run_report(shop.site, SYSTEM, report, {})
    want = Counter(start_of(s["sold_on"], unit) for s in shop.sales)
    assert {r.values["c0"]: r.values["c1"] for r in result.rows} == dict(want)


def _boundary_sales(shop: Shop) -> None:
    # In Shanghai (UTC+8), 2026-03-31 16:30 UTC is already 1 April (a new quarter, and
    # Wednesday of the week starting Monday 30 March); 15:59 UTC is still 31 March.
    shop.site.records().create_many("sale", [
        {"channel": "mall", "placed_at": dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC),
         "discount": "999.99", "lines": []},
        {"channel": "mall", "placed_at": dt.datetime(2026, 3, 31, 15, 59, tzinfo=UTC),
         "discount": "999.99", "lines": []},
        {"channel": "mall", "placed_at": dt.datetime(2026, 3, 29, 16, 0, tzinfo=UTC),
         "discount": "999.99", "lines": []},  # Monday 30 March in Shanghai
    ])


@pytest.mark.parametrize(("unit", "starts"), [
    ("month", ["2026-03-01", "2026-03-01", "2026-04-01"]),
    ("quarter", ["2026-01-01", "2026-01-01", "2026-04-01"]),
    ("week", ["2026-03-30", "2026-03-30", "2026-03-30"]),
    ("day", ["2026-03-30", "2026-03-31", "2026-04-01"]),
])
def test_datetimes_are_bucketed_in_the_site_time_zone(shop: Shop, unit: str,
                                                      starts: list[str]) -> None:
    _boundary_sales(shop)
    report = read("tz", {"report": "tz", "entity": "sale",
                         "filters": [["discount", "=", "999.99"]],
                         "group_by": [{"field": "placed_at", "bucket": unit, "name": "p"}],
                         "measures": [{"agg": "count", "name": "n"}]})
    rows = run_report(shop.site, SYSTEM, report, {}).rows
    assert {r.values["c0"].isoformat(): r.values["c1"] for r in rows} == dict(Counter(starts))


def test_a_rep_sees_only_the_totals_of_their_rows(shop: Shop, actor) -> None:  # noqa: ANN001
    ann = actor("ann", "Rep", rep="ann")
    report = report_of(shop.site, "sales_by_channel")
    result = run_report(shop.site, ann, report, {})
    reps = {i + 1: c["rep"] for i, c in enumerate(shop.customers)}
    mine = [line for line in shop.lines() if reps[line["sale"]["customer"]] == "ann"]
    total = result.rows[-1]
    amount = next(c for c in result.columns if c.name == "amount")
    assert total.values[amount.key] == sum(r["amount"] for r in mine if r["amount"] is not None)
    everyone = run_report(shop.site, SYSTEM, report, {}).rows[-1].values[amount.key]
    assert total.values[amount.key] != everyone


def test_a_linked_record_the_user_may_not_see_reads_as_empty(shop: Shop, actor) -> None:  # noqa: ANN001
    # Give Bob's customers' sales to... nobody: a report over sales grouped by the
    # customer shows a rep only their own customers (the join carries the row rule).
    ann = actor("ann", "Rep", rep="ann")
    report = read("by_customer", {"report": "by_customer", "entity": "sale",
                                  "group_by": ["customer.code"],
                                  "measures": [{"agg": "count", "name": "n"}]})
    rows = run_report(shop.site, ann, report, {}).rows
    codes = {r.values["c0"] for r in rows}
    assert codes == {c["code"] for c in shop.customers if c["rep"] == "ann"}


def test_hidden_fields_are_left_out(shop: Shop, actor) -> None:  # noqa: ANN001
    analyst = actor("ana", "Analyst")
    report = read("d", {"report": "d", "entity": "sale", "group_by": ["channel"],
                        "measures": [{"agg": "count", "name": "n"},
                                     {"agg": "sum", "field": "discount", "name": "discount"}]})
    result = run_report(shop.site, analyst, report, {})
    assert [c.name for c in result.columns] == ["channel", "n"]
    assert result.hidden == ["discount"]
    assert sum(r.values["c1"] for r in result.rows) == len(shop.sales)


def test_kpi_compares_with_the_same_span_of_the_previous_period(shop: Shop) -> None:
    widget = {"kpi": "k", "entity": "sale", "measure": {"agg": "sum", "field": "discount"},
              "date": "sold_on", "period": "month"}
    day = dt.date(2026, 2, 10)
    card = kpi(shop.site, SYSTEM, widget, day=day)
    (c0, c1), (p0, p1) = periods("month", day)
    assert (c0, c1, p0, p1) == (dt.date(2026, 2, 1), dt.date(2026, 2, 11),
                                dt.date(2026, 1, 1), dt.date(2026, 1, 11))
    now = [s["discount"] for s in shop.sales if c0 <= s["sold_on"] < c1]
    before = [s["discount"] for s in shop.sales if p0 <= s["sold_on"] < p1]
    assert card.value == sum(now) and card.previous == sum(before)
    assert card.change == ((sum(now) - sum(before)) / sum(before) * 100).quantize(
        Decimal("0.1"))
