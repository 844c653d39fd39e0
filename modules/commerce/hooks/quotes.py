"""Gather what the price calculation needs from the records, and check coupons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from yiti import api

from .common import all_rows, aware, first
from .pricing import ZERO, Item, Promo, Quote, price

MEMBER_LEVELS = ("silver", "gold", "vip")
SKU_FIELDS = ["id", "code", "title", "list_price", "member_price", "active", "product",
              "product.code", "product.title", "product.list_price", "product.tax_rate",
              "product.category", "product.status", "product.shipping_class"]


@dataclass
class Priced:
    """A quote and what it was made from (for placing the order)."""

    quote: Quote
    skus: dict[int, dict[str, Any]]
    coupon: dict[str, Any] | None
    promotions: dict[int, dict[str, Any]]


def is_active(row: dict[str, Any], at: dt.datetime, start: str, end: str) -> bool:
    starts, ends = aware(row.get(start)), aware(row.get(end))
    return (starts is None or starts <= at) and (ends is None or at < ends)


def quote(sys: api.Records, *, channel: dict[str, Any], customer: dict[str, Any] | None,
          lines: Sequence[tuple[int, int]], coupon_code: str | None, at: dt.datetime
          ) -> Priced:
    """Price ``lines`` ((sku id, qty), ...) for ``customer`` in ``channel`` at ``at``."""
    ids = sorted({sku for sku, _ in lines})
    skus = {row["id"]: row for row in sys.list(
        "sku", filters=[("id", "in", ids)], fields=SKU_FIELDS, limit=max(len(ids), 1)).rows}
    for i, (sku, _qty) in enumerate(lines):
        if sku not in skus:
            raise api.ValidationError(f"no SKU {sku}", field=f"lines[{i}].sku")
    prices = {row["sku"]: row["price"] for row in sys.list(
        "channel_price", filters=[("channel", "=", channel["id"]), ("sku", "in", ids)],
        fields=["sku", "price"], limit=max(len(ids), 1)).rows}
    shipping = {row["id"]: row for row in all_rows(sys, "shipping_class")}
    parents = {row["id"]: row["parent"] for row in all_rows(
        sys, "product_category", fields=["id", "parent"])}
    items = []
    for n, (sku_id, qty) in enumerate(lines, start=1):
        sku = skus[sku_id]
        ship = shipping.get(sku["product.shipping_class"]) or {}
        items.append(Item(
            line_no=n, sku=sku_id, qty=int(qty), title=sku["title"] or sku["product.title"],
            list_price=sku["list_price"] if sku["list_price"] is not None
            else sku["product.list_price"],
            channel_price=prices.get(sku_id), member_price=sku["member_price"],
            product=sku["product"], categories=_ancestors(sku["product.category"], parents),
            tax_rate=Decimal(sku["product.tax_rate"] if sku["product.tax_rate"] is not None
                             else 13),
            shipping_fee=ship.get("base_fee") or ZERO,
            free_shipping_over=ship.get("free_over")))
    promotions = {p["id"]: p for p in all_rows(sys, "promotion", [("active", "=", True)])
                  if is_active(p, at, "starts_at", "ends_at")
                  and p["channel"] in (None, channel["id"])}
    plain = [_promo(p) for p in promotions.values() if not p["requires_coupon"]]
    coupon, coupon_promo, problem = None, None, None
    if coupon_code:
        coupon, problem = check_coupon(sys, coupon_code, customer, at)
        if coupon is not None:
            row = promotions.get(coupon["promotion"])
            if row is None:
                problem = f"coupon {coupon_code}: its promotion is not running now"
                coupon = None
            else:
                coupon_promo = _promo(row)
    member = bool(customer and customer.get("member_level") in MEMBER_LEVELS)
    result = price(items, plain, member=member, coupon=coupon_promo,
                   coupon_code=coupon_code or "")
    if problem:
        result.coupon_problem = problem
    return Priced(result, skus, coupon, promotions)


def check_coupon(sys: api.Records, code: str, customer: dict[str, Any] | None,
                 at: dt.datetime) -> tuple[dict[str, Any] | None, str | None]:
    """The coupon called ``code`` if ``customer`` may use it at ``at``; else a reason."""
    coupon = first(sys, "coupon", [("code", "=", code.strip().upper())])
    if coupon is None:
        return None, f"no coupon {code!r}"
    if not is_active(coupon, at, "valid_from", "valid_to"):
        return None, f"coupon {code} is not valid now"
    if coupon["customer"] is not None and (customer is None
                                           or coupon["customer"] != customer["id"]):
        return None, f"coupon {code} belongs to another customer"
    if coupon["max_uses"] and coupon["remaining_uses"] <= 0:
        return None, f"coupon {code} has been used up"
    if customer is not None and first(sys, "coupon_redemption", [
            ("coupon", "=", coupon["id"]), ("customer", "=", customer["id"])]):
        return None, f"you have already used coupon {code}"
    return coupon, None


def _ancestors(category: int | None, parents: dict[int, int | None]) -> tuple[int, ...]:
    out: list[int] = []
    while category is not None and category not in out:
        out.append(category)
        category = parents.get(category)
    return tuple(out)


def _promo(row: dict[str, Any]) -> Promo:
    return Promo(id=row["id"], code=row["code"], title=row["title"], kind=row["kind"],
                 scope=row["scope"] or "all", category=row["category"],
                 product=row["product"], sku=row["sku"], percent=row["percent"],
                 amount=row["amount"], threshold=row["threshold"], buy_qty=row["buy_qty"],
                 get_qty=row["get_qty"], flash_price=row["flash_price"],
                 priority=row["priority"] if row["priority"] is not None else 100)


def quote_json(priced: Priced) -> dict[str, Any]:
    """A quote as the API returns it (money as strings)."""
    q = priced.quote
    return {
        "lines": [{"line_no": line.item.line_no, "sku": priced.skus[line.item.sku]["code"],
                   "title": line.item.title, "qty": line.item.qty,
                   "list_price": line.item.list_price, "unit_price": line.unit_price,
                   "gross": line.gross, "discount": line.discount, "amount": line.amount,
                   "tax": line.tax} for line in q.lines],
        "promotions": [{"code": a.code, "kind": a.kind, "line_no": a.line_no,
                        "amount": a.amount, "explanation": a.explanation}
                       for a in q.applied],
        "subtotal": q.subtotal, "discount_total": q.discount_total,
        "shipping_fee": q.shipping_fee, "grand_total": q.grand_total,
        "tax_total": q.tax_total, "coupon_problem": q.coupon_problem,
    }
