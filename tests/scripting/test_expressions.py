"""Formulas: exact decimals, child lines, rules, dates, rounding, errors, cache."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from yiti.errors import FieldProblem
from yiti.scripting import (
    ExpressionError,
    cache_info,
    check_expression,
    compile_expression,
    evaluate,
    evaluate_rule,
    record_names,
    record_proxy,
)

D = Decimal


@pytest.fixture
def order() -> dict:
    return record_names(
        {"customer": "C-1", "discount": D("0.1"), "order_date": dt.date(2026, 1, 31)},
        {"lines": [
            {"item": "A", "qty": D("2"), "price": D("10.25"), "gift": False},
            {"item": "B", "qty": D("1"), "price": D("0.10"), "gift": True},
            {"item": "C", "qty": D("3"), "price": D("1.05"), "gift": False},
        ]},
    )


def test_line_total_is_exact_decimal() -> None:
    line = record_names({"qty": D("3"), "price": D("19.99"), "discount": D("0.15")})
    value = evaluate("qty * price * (1 - discount)", line)
    assert value == D("50.9745") and type(value) is Decimal


def test_sum_over_child_lines(order: dict) -> None:
    assert evaluate('sum_of(lines, "qty")', order) == D("6")
    assert evaluate("count_of(lines)", order) == 3
    assert evaluate('count_of(lines, "gift")', order) == 1
    assert evaluate('sum_of(where(lines, "gift", False), "qty")', order) == D("5")
    assert evaluate('max_of(lines, "price")', order) == D("10.25")
    assert evaluate('min_of(lines, "price")', order) == D("0.10")
    assert evaluate('any_of(lines, "item", "B")', order) is True
    assert evaluate('all_of(lines, "gift")', order) is False
    assert evaluate('values_of(lines, "item")', order) == ("A", "B", "C")
    assert evaluate('avg_of(lines, "qty")', order) == D("2")
    assert evaluate("lines[0].qty * lines[0]['price']", order) == D("20.50")


def test_line_formula_sees_its_parent(order: dict) -> None:
    names = record_names({"qty": D(2), "price": D("5")}, parent=order["doc"])
    assert evaluate("qty * price * (1 - parent.discount)", names) == D("9.0")


def test_empty_rows_and_none_values() -> None:
    names = record_names({"x": None}, {"lines": [{"amount": None}, {"amount": D("1")}]})
    assert evaluate('sum_of(lines, "amount")', names) == D("1")
    assert evaluate('max_of(where(lines, "amount", 5), "amount")', names) is None
    assert evaluate("coalesce(x, 0) + 1", names) == 1
    assert evaluate("is_blank(x)", names) is True


def test_validation_rule_returns_message_and_field(order: dict) -> None:
    rule = "sum_of(lines, 'qty') <= 5"
    problem = evaluate_rule(rule, order, message="At most 5 items per order.", field="lines")
    assert problem == FieldProblem("lines", "At most 5 items per order.", "rule")
    assert evaluate_rule("count_of(lines) > 0", order, message="No lines", field="") is None


def test_date_helpers() -> None:
    names = {"d": dt.date(2026, 1, 31)}
    assert evaluate("add_days(d, 30)", names) == dt.date(2026, 3, 2)
    assert evaluate("add_months(d, 1)", names) == dt.date(2026, 2, 28)
    assert evaluate("add_years(date(2024, 2, 29), 1)") == dt.date(2025, 2, 28)
    assert evaluate("days_between(date(2026, 1, 1), d)", names) == 30
    assert evaluate("days_between('2026-01-01', '2025-12-31')") == -1
    assert evaluate("end_of_month(date(2026, 2, 3))") == dt.date(2026, 2, 28)
    assert evaluate("start_of_month(d).day + d.month", names) == 2
    assert isinstance(evaluate("today()"), dt.date)
    assert evaluate("today() <= add_days(today(), 1)") is True
    assert evaluate("to_date(now()) == today()") is True


def test_rounding_helpers_round_half_up() -> None:
    assert evaluate("round_money(decimal('2.675'))") == D("2.68")
    assert evaluate("round_money(decimal('-2.675'))") == D("-2.68")
    assert evaluate("round_money(2.5, 0)") == D("3")
    assert evaluate("round_half_up(decimal('0.125'), 2)") == D("0.13")
    assert evaluate("round(decimal('2.5'))") == 2  # Python's banker's rounding, documented
    assert evaluate("format_number(decimal('1234567.891'))") == "1,234,567.89"
    assert evaluate("floor(decimal('-1.5')) + ceil(1.2)") == 0


def test_text_and_conditions() -> None:
    names = {"status": "open", "name": "  Alice "}
    assert evaluate("status in ('open', 'draft') and not is_blank(name)", names) is True
    assert evaluate("name.strip().upper() + '!'", names) == "ALICE!"
    assert evaluate("f'{name.strip()} has {len(status)} letters'", names) == "Alice has 4 letters"
    assert evaluate("'x' if status == 'open' else 'y'", names) == "x"


def test_compile_time_errors_name_file_and_line() -> None:
    problems = check_expression(
        "qty * (price", filename="modules/commerce/entities/sales_order.yaml", lineno=42,
        name="total",
    )
    assert len(problems) == 1
    p = problems[0]
    assert (p.filename, p.lineno, p.name, p.code) == (
        "modules/commerce/entities/sales_order.yaml", 42, "total", "syntax")
    assert str(p).startswith("modules/commerce/entities/sales_order.yaml:42: total: syntax error")
    assert p.to_definition_error().path == "modules/commerce/entities/sales_order.yaml"

    with pytest.raises(ExpressionError) as e:
        compile_expression("[x for x in lines]", filename="so.yaml", lineno=7)
    assert (e.value.filename, e.value.lineno, e.value.code) == ("so.yaml", 7, "forbidden")
    assert "sum_of()" in e.value.message


def test_check_reports_unknown_names_with_a_hint() -> None:
    problems = check_expression("qtty * price", filename="f.yaml", lineno=3, names=["qty", "price"])
    assert [p.code for p in problems] == ["unknown_name"]
    assert "did you mean 'qty'?" in problems[0].message
    assert check_expression("sum_of(lines, 'qty')", names=["lines"]) == []


def test_multiline_expression_runtime_error_has_the_right_line() -> None:
    source = "(qty\n * price\n / divisor)"
    with pytest.raises(ExpressionError) as e:
        evaluate(source, {"qty": 1, "price": 2, "divisor": 0}, filename="x.yaml", lineno=10)
    assert e.value.code == "runtime"
    assert e.value.filename == "x.yaml" and e.value.lineno in (10, 11, 12)
    assert "division by zero" in e.value.message
    assert e.value.to_dict()["lineno"] == e.value.lineno


def test_missing_field_hint() -> None:
    with pytest.raises(ExpressionError) as e:
        evaluate("doc.qtty", record_names({"qty": 1}))
    assert "did you mean 'qty'?" in e.value.message


def test_compiled_code_is_cached() -> None:
    first = compile_expression("1 + 2 + 3", filename="cache.yaml", lineno=1)
    hits = cache_info().hits
    again = compile_expression("1 + 2 + 3", filename="cache.yaml", lineno=1)
    assert again is first and cache_info().hits == hits + 1
    assert first.evaluate({}) == 6


def test_record_proxy_values_are_copies() -> None:
    values = {"tags": ["a"], "meta": {"k": 1}}
    proxy = record_proxy(values)
    assert proxy.tags == ("a",) and proxy.meta["k"] == 1
    values["tags"].append("b")
    assert proxy.tags == ("a",)


def test_names_of_a_formula_that_does_not_parse_are_checked_unless_it_binds_its_own() -> None:
    found = check_expression("qtty * (price", filename="f.yaml", lineno=3,
                             names=["qty", "price"])
    assert [p.code for p in found] == ["syntax", "unknown_name"]
    assert found[1].message == "unknown name 'qtty'; did you mean 'qty'?"
    # attributes and keyword arguments are no names of the record's
    assert [p.code for p in check_expression("round(qty.real, ndigits=2", names=["qty"])] \
        == ["syntax"]
    # a comprehension binds `x`: tokens alone cannot tell it from a misspelt field
    assert [p.code for p in check_expression("sum(x for x in qty", names=["qty"])] == ["syntax"]
