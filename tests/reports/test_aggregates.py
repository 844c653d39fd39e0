"""Every aggregate, subtotal, total and pivot cell against the same numbers computed here
in Python from the rows the test inserted; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from yiti.permissions.policy import SYSTEM
from yiti.reports import report_of, run_report
from yiti.reports.spec import read

from .conftest import Shop


def agg(kind: str, values: Iterable[Any], scale: int = 2) -> Any:
    """The oracle: what SQL's aggregate means, nulls skipped."""
    values = list(values)
    present = [v for v in values if v is not None]
    if kind == "count":
        return len(values)
    if kind == "count_distinct":
        return len(set(present))
    if not present:
        return None
    if kind == "sum":
        return sum(present)
    if kind == "min":
        return min(present)
    if kind == "max":
        return max(present)
    with localcontext() as ctx:  # avg: truncated to the field's scale + 4 digits
        ctx.prec = 50
        mean = Decimal(sum(present)) / len(present)
    return mean.quantize(Decimal(1).scaleb(-(scale + 4)), rounding=ROUND_DOWN)


MEASURES: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "amount": ("sum", lambda r: r["amount"]),
    "qty": ("sum", lambda r: r["qty"]),
    "lines": ("count", lambda r: 1),
    "sales": ("count_distinct", lambda r: id(r["sale"])),
    "avg_amount": ("avg", lambda r: r["amount"]),
    "min_amount": ("min", lambda r: r["amount"]),
    "max_amount": ("max", lambda r: r["amount"]),
}


def expected(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {name: agg(kind, [get(r) for r in rows]) for name, (kind, get) in MEASURES.items()}


def by_name(result: Any, row: Any) -> dict[str, Any]:
    return {c.name: row.values[c.key] for c in result.columns}


def test_groups_subtotals_and_total_match_python(shop: Shop) -> None:
    report = report_of(shop.site, "sales_by_channel")
    result = run_report(shop.site, SYSTEM, report, {})
    lines = shop.lines()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        groups[(line["sale"]["channel"], line["product_row"]["category"])].append(line)
    details = [r for r in result.rows if r.kind == "detail"]
    assert len(details) == len(groups)
    for row in details:
        got = by_name(result, row)
        assert {k: got[k] for k in MEASURES} == expected(groups[(got["channel"], got["category"])])
    subtotals = [r for r in result.rows if r.kind == "subtotal"]
    assert sorted(by_name(result, r)["channel"] for r in subtotals) == sorted(
        {c for c, _ in groups})
    for row in subtotals:
        got = by_name(result, row)
        mine = [line for line in lines if line["sale"]["channel"] == got["channel"]]
        assert {k: got[k] for k in MEASURES} == expected(mine)
    total = result.rows[-1]
    assert total.kind == "total"
    assert {k: by_name(result, total)[k] for k in MEASURES} == expected(lines)
    # each subtotal follows its channel's rows, the total comes last
    channels = [by_name(result, r)["channel"] for r in result.rows[:-1]]
    assert channels == sorted(channels)


def test_parameters_filter_inside_the_query(shop: Shop) -> None:
    report = report_of(shop.site, "sales_by_channel")
    result = run_report(shop.site, SYSTEM, report,
                        {"from": "2026-01-01", "to": "2026-01-31", "channel": "wechat"})
    mine = [line for line in shop.lines() if line["sale"]["channel"] == "wechat"
            and "2026-01-01" <= line["sale"]["sold_on"].isoformat() <= "2026-01-31"]
    total = by_name(result, result.rows[-1])
    assert {k: total[k] for k in MEASURES} == expected(mine)
    assert all(by_name(result, r)["channel"] in ("wechat", None) for r in result.rows)


def test_pivot_cells_and_row_totals(shop: Shop) -> None:
    report = read("pivot", {
        "report": "pivot", "entity": "sale_line",
        "group_by": [{"field": "parent.channel", "name": "channel"}],
        "pivot": {"field": "product.category", "name": "category"},
        "measures": [{"agg": "sum", "field": "amount", "name": "amount"},
                     {"agg": "count", "name": "n"}],
        "totals": True})
    result = run_report(shop.site, SYSTEM, report, {})
    assert result.pivot_values == ["books", "food", "toys"]  # found by a first query
    lines = shop.lines()
    for row in result.rows:
        channel = row.values[result.groups[0].key]
        mine = [r for r in lines if channel is None or r["sale"]["channel"] == channel]
        for col in result.columns:
            if col.kind != "measure":
                continue
            cell = mine if col.pivot_index is None else [
                r for r in mine
                if r["product_row"]["category"] == result.pivot_values[col.pivot_index]]
            kind = "sum" if col.name == "amount" else "count"
            want = agg(kind, [r["amount"] for r in cell])
            assert row.values[col.key] == (want if kind == "count" else want), (channel, col)
    assert result.rows[-1].kind == "total"


def test_declared_pivot_values_keep_their_order(shop: Shop) -> None:
    report = read("p2", {
        "report": "p2", "entity": "sale",
        "group_by": ["customer.region"],
        "pivot": {"field": "channel", "values": ["wechat", "mall"]},
        "measures": [{"agg": "count", "name": "n"}]})
    result = run_report(shop.site, SYSTEM, report, {})
    assert result.pivot_values == ["wechat", "mall"]
    region = {i + 1: c["region"] for i, c in enumerate(shop.customers)}
    for row in result.rows:
        key = row.values[result.groups[0].key]
        for col in result.columns[1:]:
            want = sum(1 for s in shop.sales if region[s["customer"]] == key
                       and s["channel"] == result.pivot_values[col.pivot_index])
            assert row.values[col.key] == want


def test_line_measures_from_the_parent_do_not_multiply_its_counts(shop: Shop) -> None:
    report = read("by_parent", {
        "report": "by_parent", "entity": "sale",
        "group_by": ["channel"],
        "measures": [{"agg": "count", "name": "sales"},
                     {"agg": "sum", "field": "discount", "name": "discount"},
                     {"agg": "sum", "field": "lines.amount", "name": "amount"},
                     {"agg": "count", "field": "lines.amount", "name": "priced_lines"},
                     {"agg": "max", "field": "lines.qty", "name": "max_qty"}],
        "totals": True})
    result = run_report(shop.site, SYSTEM, report, {})
    for row in result.rows:
        got = by_name(result, row)
        mine = [s for s in shop.sales if got["channel"] in (None, s["channel"])]
        lines = [line for s in mine for line in s["lines"]]
        assert got["sales"] == len(mine)
        assert got["discount"] == agg("sum", [s["discount"] for s in mine])
        assert got["amount"] == agg("sum", [line["amount"] for line in lines])
        assert got["priced_lines"] == sum(1 for line in lines if line["amount"] is not None)
        assert got["max_qty"] == agg("max", [line["qty"] for line in lines])


def test_avg_of_a_three_digit_decimal_and_of_an_integer(shop: Shop) -> None:
    report = read("avgs", {
        "report": "avgs", "entity": "sale", "group_by": ["channel"],
        "measures": [{"agg": "avg", "field": "rate", "name": "rate"},
                     {"agg": "avg", "field": "customer", "name": "cust"}]})
    result = run_report(shop.site, SYSTEM, report, {})
    for row in result.rows:
        got = by_name(result, row)
        mine = [s for s in shop.sales if s["channel"] == got["channel"]]
        assert got["rate"] == agg("avg", [s["rate"] for s in mine], scale=3)
        assert got["cust"] == agg("avg", [s["customer"] for s in mine], scale=0)


def test_limit_keeps_totals_over_every_row(shop: Shop) -> None:
    report = read("top", {
        "report": "top", "entity": "sale_line", "group_by": ["product.code"],
        "measures": [{"agg": "sum", "field": "qty", "name": "qty"}],
        "sort": ["-qty"], "limit": 2, "totals": True})
    result = run_report(shop.site, SYSTEM, report, {})
    per: dict[str, int] = defaultdict(int)
    for line in shop.lines():
        per[line["product_row"]["code"]] += line["qty"]
    top = sorted(per.values(), reverse=True)[:2]
    assert [r.values["c1"] for r in result.rows[:2]] == top
    assert result.rows[-1].kind == "total" and result.rows[-1].values["c1"] == sum(per.values())


def test_detail_report_lists_records(shop: Shop) -> None:
    report = read("detail", {
        "report": "detail", "entity": "sale", "columns": ["channel", "customer.code", "sold_on"],
        "filters": [["channel", "=", "mall"]], "sort": ["-sold_on"]})
    result = run_report(shop.site, SYSTEM, report, {})
    mall = [s for s in shop.sales if s["channel"] == "mall"]
    assert len(result.rows) == len(mall)
    days = [r.values["c2"] for r in result.rows]
    assert days == sorted(days, reverse=True)
    assert {r.values["c1"] for r in result.rows} == {
        f"C{s['customer'] - 1}" for s in mall}


def test_drill_down_lists_exactly_the_records_behind_a_cell(shop: Shop) -> None:
    report = report_of(shop.site, "sales_by_channel")
    result = run_report(shop.site, SYSTEM, report, {"from": "2026-01-15"})
    records = shop.site.records()
    for row in result.rows:
        entity, filters = result.drill(row)
        assert entity == "sale"
        sales_col = next(c for c in result.columns if c.name == "sales")
        count = records.count(entity, filters=filters).value
        assert count == row.values[sales_col.key], (row.kind, filters)
