"""Field parsers and bounds checks, built once per field (yiti.values)."""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal

import pytest

from yiti.definitions.model import Field, Option
from yiti.values import (
    ValueProblem,
    bounds_checker,
    check_bounds,
    copy_value,
    field_parser,
    parse,
    to_json,
)


def field(type_: str, **options) -> Field:  # noqa: ANN003
    return Field(name="f", type=type_, label={"en": "f"}, **options)


def problem(f: Field, value: object) -> tuple[str, str]:
    with pytest.raises(ValueProblem) as caught:
        check_bounds(f, parse(f, value))
    return caught.value.code, caught.value.message


def test_decimals_keep_their_scale_and_refuse_what_does_not_fit():
    money = field("money")
    assert parse(money, "1,234.5") == Decimal("1234.50")
    assert str(parse(money, 3)) == "3.00"
    assert parse(money, 0.1) == Decimal("0.10")  # a float's shortest form, not its binary
    assert problem(money, "1.005") == ("scale", "has more than 2 decimal places")
    assert problem(money, "1e16")[0] == "precision"
    # More digits than Decimal's own context holds: a problem, not a crash.
    assert problem(money, "1E+40")[0] == "precision"
    assert problem(money, Decimal("123456789012345678901234567890"))[0] == "precision"
    assert problem(money, "NaN") == ("type", "must be a finite number")
    assert problem(money, True)[0] == "type"


def test_text_select_and_empty_values():
    code = field("string", max_length=5, pattern=r"[A-Z]+-\d", min=3)
    assert parse(code, "  AB-1 ") == "AB-1"
    assert parse(code, "") == ""  # text keeps "" (required decides); others read it as None
    assert parse(field("integer"), "") is None
    assert problem(code, "abcdef")[0] == "max_length"
    assert problem(code, "ab-1") == ("pattern", r"must match the pattern [A-Z]+-\d")
    assert problem(field("text", min=2), "x") == ("min", "must be at least 2 characters")
    kind = field("select", options=(Option("book", {}), Option("tool", {})))
    assert parse(kind, "tool") == "tool"
    assert problem(kind, "car") == ("option", "'car' is not an option (choose from book, tool)")


def test_numbers_and_dates_within_bounds():
    qty = field("integer", min=0, max=10)
    assert parse(qty, " 7 ") == 7
    assert problem(qty, 11) == ("max", "must be at most 10")
    assert problem(qty, "2.5")[0] == "type"
    day = field("date", min=dt.date(2026, 1, 1))
    assert problem(day, "2025-12-31") == ("min", "must be at least 2026-01-01")
    at = field("datetime")
    local = parse(at, "2026-11-11T20:00:00", timezone="Asia/Shanghai")
    assert local.utcoffset() == dt.timedelta(hours=8)
    assert parse(at, "2026-11-11T12:00:00Z") == local


def test_parsers_are_built_once_per_field_and_time_zone():
    money = field("money", min=Decimal("0"))
    assert field_parser(money) is field_parser(money)
    assert field_parser(money, "UTC") is not field_parser(money)
    assert bounds_checker(money) is bounds_checker(money)
    assert bounds_checker(field("money")) is None  # nothing to check
    # An equal field is another definition (a reloaded model): it gets its own parser,
    # and a dropped field's parser is forgotten with it.
    twin = field("money", min=Decimal("0"))
    assert field_parser(twin) is not field_parser(money)
    from yiti.values import _parsers

    key = (id(twin), "Asia/Shanghai")
    assert key in _parsers._store
    del twin
    gc.collect()
    assert key not in _parsers._store
    assert all(ref() is not None for ref, _ in _parsers._store.values())


def test_copy_value_copies_what_can_change_and_shares_what_cannot():
    at = dt.datetime(2026, 11, 11, tzinfo=dt.UTC)
    record = {"qty": Decimal("2.50"), "at": at, "tags": ["a"], "data": {"k": [1, {"n": 2}]},
              "lines": [{"sku": 1, "extra": {"gift": True}}]}
    copied = copy_value(record)
    assert copied == record
    copied["tags"].append("b")
    copied["data"]["k"][1]["n"] = 3
    copied["lines"][0]["extra"]["gift"] = False
    copied["lines"].append({"sku": 2})
    assert record == {"qty": Decimal("2.50"), "at": at, "tags": ["a"],
                      "data": {"k": [1, {"n": 2}]}, "lines": [{"sku": 1, "extra": {"gift": True}}]}
    assert copied["at"] is at and copied["qty"] is record["qty"]


def test_decimals_go_to_json_as_plain_decimal_strings():
    """As the API writes them (the audit trail's changes use this): never exponent form."""
    assert to_json(Decimal("0.00000000")) == "0.00000000"  # str() gives '0E-8'
    assert to_json(Decimal("1E+2")) == "100"
    assert to_json(Decimal("-12.50")) == "-12.50"
