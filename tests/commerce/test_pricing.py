"""The price calculation, rule by rule, against amounts worked out by hand."""

from __future__ import annotations

import importlib
from decimal import Decimal as D

from yiti.config import PROJECT_ROOT
from yiti.extensions import hooks_module


def p():
    """The pack's pricing module (pure: no site or database needed)."""
    hooks_module("commerce", PROJECT_ROOT / "modules" / "commerce" / "hooks" / "__init__.py")
    return importlib.import_module("yiti_packs.commerce.hooks.pricing")


def item(n=1, sku=1, qty=1, price="100.00", **kw):
    return p().Item(line_no=n, sku=sku, qty=qty, list_price=D(price), **kw)


def promo(code, kind, **kw):
    return p().Promo(id=hash(code) % 1000, code=code, title=code, kind=kind, **kw)


def test_channel_price_beats_list_price_and_tax_is_included():
    q = p().price([item(qty=2, channel_price=D("80.00"))], [])
    line = q.lines[0]
    assert (line.unit_price, line.gross, line.amount) == (D("80.00"), D("160.00"), D("160.00"))
    assert line.tax == D("18.41")  # 160 * 13 / 113 = 18.407...
    assert q.applied == []


def test_percentage_discount():
    q = p().price([item(qty=3, categories=(7,))],
                  [promo("TOPS-10", "percent_off", scope="category", category=7,
                         percent=D("10"))])
    assert q.lines[0].discount == D("30.00") and q.grand_total == D("270.00")
    assert [(a.code, a.line_no, a.amount) for a in q.applied] == [("TOPS-10", 1, D("30.00"))]


def test_fixed_discount_per_unit_never_below_zero():
    q = p().price([item(qty=2, price="150.00"), item(n=2, sku=2, qty=1, price="15.00")],
                  [promo("OFF20", "fixed_off", amount=D("20.00"))])
    assert [line.discount for line in q.lines] == [D("40.00"), D("15.00")]


def test_buy_two_get_one():
    q = p().price([item(qty=5, price="60.00")],
                  [promo("B2G1", "buy_x_get_y", buy_qty=2, get_qty=1)])
    assert q.lines[0].discount == D("60.00")  # 5 // 3 = 1 free
    q = p().price([item(qty=6, price="60.00")],
                  [promo("B2G1", "buy_x_get_y", buy_qty=2, get_qty=1)])
    assert q.lines[0].discount == D("120.00")


def test_spend_threshold_shared_pro_rata():
    q = p().price([item(qty=2, price="100.00"), item(n=2, sku=2, qty=1, price="150.00")],
                  [promo("MAN300", "threshold", threshold=D("300.00"), amount=D("50.00"))])
    # 350 spent: 50 off, 200/350 and 150/350 of it
    assert [line.discount for line in q.lines] == [D("28.57"), D("21.43")]
    assert q.grand_total == D("300.00")
    assert q.applied[0].line_no is None and "350.00 >= 300.00" in q.applied[0].explanation


def test_threshold_not_reached_after_line_discounts():
    q = p().price([item(qty=3, price="100.00")],
                  [promo("P10", "percent_off", percent=D("10")),
                   promo("MAN300", "threshold", threshold=D("300.00"), amount=D("50.00"))])
    assert q.grand_total == D("270.00")  # 270 < 300: no reduction
    assert [a.code for a in q.applied] == ["P10"]


def test_best_threshold_wins():
    q = p().price([item(qty=7, price="100.00")],
                  [promo("MAN300", "threshold", threshold=D("300"), amount=D("50")),
                   promo("MAN600", "threshold", threshold=D("600"), amount=D("120"))])
    assert [a.code for a in q.applied] == ["MAN600"] and q.grand_total == D("580.00")


def test_member_price_and_flash_sale_take_the_lower():
    flash = promo("FLASH", "flash_sale", scope="sku", sku=1, flash_price=D("70.00"))
    member = p().price([item(qty=2, member_price=D("90.00"))], [], member=True)
    assert member.lines[0].discount == D("20.00") and member.applied[0].code == "MEMBER"
    assert p().price([item(qty=2, member_price=D("90.00"))], []).applied == []
    both = p().price([item(qty=2, member_price=D("90.00"))], [flash], member=True)
    assert both.lines[0].discount == D("60.00") and both.lines[0].flash_sale == flash


def test_flash_sale_lines_take_no_other_line_promotion():
    q = p().price([item(qty=1)], [promo("FLASH", "flash_sale", scope="sku", sku=1,
                                        flash_price=D("70.00")),
                                  promo("P10", "percent_off", percent=D("10"))])
    assert [a.code for a in q.applied] == ["FLASH"]


def test_ties_go_to_priority_then_code():
    a = promo("B-TEN", "percent_off", percent=D("10"), priority=5)
    b = promo("A-TEN", "percent_off", percent=D("10"), priority=5)
    c = promo("C-TEN", "percent_off", percent=D("10"), priority=1)
    assert p().price([item()], [a, b]).applied[0].code == "A-TEN"
    assert p().price([item()], [a, b, c]).applied[0].code == "C-TEN"


def test_coupon_applies_last():
    coupon = promo("WELCOME", "percent_off", percent=D("15"))
    q = p().price([item(qty=4, price="100.00")],
                  [promo("MAN300", "threshold", threshold=D("300"), amount=D("50"))],
                  coupon=coupon, coupon_code="W15")
    # 400 - 50 = 350, then 15 % of 350 = 52.50
    assert [(a.code, a.amount) for a in q.applied] == [("MAN300", D("50.00")),
                                                      ("W15", D("52.50"))]
    assert q.grand_total == D("297.50")


def test_shipping_fee_until_the_free_threshold():
    cheap = p().price([item(price="50.00", shipping_fee=D("8.00"),
                            free_shipping_over=D("99.00"))], [])
    assert cheap.shipping_fee == D("8.00") and cheap.grand_total == D("58.00")
    dear = p().price([item(price="120.00", shipping_fee=D("8.00"),
                           free_shipping_over=D("99.00"))], [])
    assert dear.shipping_fee == D("0")
