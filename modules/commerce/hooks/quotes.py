"""Gather what the price calculation needs from the records, and check coupons.

What pricing reads that changes rarely (SKUs with their product's fields, by id or code,
channel prices, shipping classes, the category tree, active promotions, channels by id or
code, listings and whether a channel holds allocations in a warehouse) is kept per process for at most
:data:`CATALOGUE_SECONDS` (:class:`Catalogue`). A change saved in this process through the
record service drops it at once (:func:`forget_catalogue`), and nothing is kept for that
long afterwards, so a transaction that changes the catalogue and rolls back leaves nothing
behind; another process's change shows within that many seconds. Counters (promotion and
coupon uses, stock) are never taken from it: they are read or adjusted in the order's
transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from yiti import api

from .common import all_rows, aware, find_channel, first, key_filter
from .pricing import ZERO, Item, Promo, Quote, price

MEMBER_LEVELS = ("silver", "gold", "vip")
SKU_FIELDS = ["id", "code", "title", "list_price", "member_price", "active", "product",
              "product.code", "product.title", "product.list_price", "product.tax_rate",
              "product.category", "product.status", "product.shipping_class"]


#: How long a process keeps what pricing reads (a change elsewhere shows within this).
CATALOGUE_SECONDS = 3.0
#: Entities whose saved changes drop the kept catalogue (see :func:`forget_catalogue`).
CATALOGUE_ENTITIES = ("sku", "product", "channel", "channel_price", "channel_listing",
                      "shipping_class", "product_category", "promotion", "channel_stock")


@dataclass
class Catalogue:
    """What pricing and placing read that changes rarely, as of ``made``.

    Filled lazily, one query per kind of thing and only for what is missing; the rows are
    shared between requests: read them, never change them.
    """

    made: float = field(default_factory=time.monotonic)
    skus: dict[int, dict[str, Any]] = field(default_factory=dict)
    prices: dict[tuple[int, int], Decimal | None] = field(default_factory=dict)
    listed: dict[tuple[int, int], bool] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    sku_codes: dict[str, int] = field(default_factory=dict)
    channel_names: dict[Any, int] = field(default_factory=dict)
    allocated: dict[tuple[int, int], bool] = field(default_factory=dict)
    shipping: dict[int, dict[str, Any]] | None = None
    parents: dict[int, int | None] | None = None
    promotions: list[dict[str, Any]] | None = None

    def sku_rows(self, sys: api.Records, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """SKUs (with their product's fields, :data:`SKU_FIELDS`) by id; unknown ids left out."""
        ids = sorted(set(ids))
        missing = [i for i in ids if i not in self.skus]
        if missing:
            for row in sys.list("sku", filters=[("id", "in", missing)], fields=SKU_FIELDS,
                                limit=len(missing)).rows:
                self.skus[row["id"]] = row
        return {i: self.skus[i] for i in ids if i in self.skus}

    def sku(self, sys: api.Records, value: Any, param: str = "sku") -> dict[str, Any]:
        """The SKU ``value`` names (its code or id, as :func:`lookup` takes it), with
        :data:`SKU_FIELDS`; a 422 at ``param`` when there is none."""
        if isinstance(value, dict) and "id" in value:
            value = value["id"]
        name, _, key = key_filter(value)
        if name == "code" and key not in self.sku_codes:
            row = first(sys, "sku", [("code", "=", key)], fields=SKU_FIELDS)
            if row is not None:
                self.skus.setdefault(row["id"], row)
                self.sku_codes[key] = row["id"]
        ident = key if name == "id" else self.sku_codes.get(key)
        row = self.sku_rows(sys, [ident]).get(ident) if ident is not None else None
        if row is None:
            raise api.ValidationError(api.message("no sku %(sku)s", sku=repr(value)),
                                      field=param)
        return row

    def channel_prices(self, sys: api.Records, channel: int, skus: Iterable[int]
                       ) -> dict[int, Decimal]:
        """The channel's own prices of ``skus`` (SKUs without one left out)."""
        skus = sorted(set(skus))
        missing = [s for s in skus if (channel, s) not in self.prices]
        if missing:
            found = {row["sku"]: row["price"] for row in sys.list(
                "channel_price", filters=[("channel", "=", channel), ("sku", "in", missing)],
                fields=["sku", "price"], limit=len(missing)).rows}
            for s in missing:
                self.prices[(channel, s)] = found.get(s)
        return {s: p for s in skus if (p := self.prices[(channel, s)]) is not None}

    def listed_products(self, sys: api.Records, channel: int, products: Iterable[int]
                        ) -> set[int]:
        """Which of ``products`` are listed in ``channel``."""
        products = sorted(set(products))
        missing = [p for p in products if (channel, p) not in self.listed]
        if missing:
            found = {row["product"] for row in sys.list("channel_listing", filters=[
                ("channel", "=", channel), ("product", "in", missing),
                ("status", "=", "listed")], fields=["product"], limit=len(missing)).rows}
            for p in missing:
                self.listed[(channel, p)] = p in found
        return {p for p in products if self.listed[(channel, p)]}

    def channel(self, sys: api.Records, ident: int) -> dict[str, Any]:
        """The channel with id ``ident`` (NotFound when there is none)."""
        if ident not in self.channels:
            self.channels[ident] = sys.get("channel", ident)
        return self.channels[ident]

    def channel_named(self, sys: api.Records, code: Any) -> dict[str, Any]:
        """The channel ``code`` (or id) names; without one, the first active online
        mall (:func:`find_channel`)."""
        key = key_filter(code) if code else None
        if key is not None and key[0] == "id" and key[2] in self.channels:
            return self.channels[key[2]]
        if key not in self.channel_names:
            row = find_channel(sys, code)
            self.channels.setdefault(row["id"], row)
            self.channel_names[key] = row["id"]
        return self.channels[self.channel_names[key]]

    def has_allocations(self, sys: api.Records, channel: int, warehouse: int) -> bool:
        """Whether ``channel`` holds any allocation rows in ``warehouse`` (not how much)."""
        key = (channel, warehouse)
        if key not in self.allocated:
            self.allocated[key] = bool(sys.list("channel_stock", filters=[
                ("channel", "=", channel), ("warehouse", "=", warehouse)],
                fields=["id"], limit=1).rows)
        return self.allocated[key]

    def shipping_classes(self, sys: api.Records) -> dict[int, dict[str, Any]]:
        if self.shipping is None:
            self.shipping = {row["id"]: row for row in all_rows(sys, "shipping_class")}
        return self.shipping

    def category_parents(self, sys: api.Records) -> dict[int, int | None]:
        if self.parents is None:
            self.parents = {row["id"]: row["parent"] for row in all_rows(
                sys, "product_category", fields=["id", "parent"])}
        return self.parents

    def active_promotions(self, sys: api.Records) -> list[dict[str, Any]]:
        """Promotions marked active (their dates are checked by the caller, at its time)."""
        if self.promotions is None:
            self.promotions = all_rows(sys, "promotion", [("active", "=", True)])
        return self.promotions


class _Kept:
    """One site's kept catalogue, and until when none may be kept."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.catalogue: Catalogue | None = None
        self.quiet_until = 0.0


_kept: weakref.WeakKeyDictionary[Any, _Kept] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def _kept_for(site: Any) -> _Kept:
    with _kept_lock:
        kept = _kept.get(site)
        if kept is None:
            kept = _kept[site] = _Kept()
        return kept


def catalogue(records: api.Records) -> Catalogue:
    """This process's catalogue of ``records``'s site, fresh within CATALOGUE_SECONDS;
    a new, unkept one while a change made here may still be uncommitted."""
    kept = _kept_for(records.site)
    now_ = time.monotonic()
    with kept.lock:
        if now_ < kept.quiet_until:
            return Catalogue()
        cat = kept.catalogue
        if cat is None or now_ - cat.made > CATALOGUE_SECONDS:
            cat = kept.catalogue = Catalogue(made=now_)
        return cat


def forget(site: Any) -> None:
    """Drop ``site``'s kept catalogue, and keep none for CATALOGUE_SECONDS."""
    kept = _kept_for(site)
    with kept.lock:
        kept.catalogue = None
        kept.quiet_until = time.monotonic() + CATALOGUE_SECONDS


def forget_catalogue(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """A catalogue record was saved or deleted here: drop the kept catalogue now and again
    once the change commits (until then readers in other transactions still see the old
    rows, which must not be kept past the commit)."""
    site = ctx.records.site
    forget(site)
    ctx.after_commit(lambda: forget(site))


for _entity in CATALOGUE_ENTITIES:  # one function, marked for each entity and event
    for _event in ("after_save", "after_delete"):
        api.hook(_entity, _event)(forget_catalogue)


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
    """Price ``lines`` ((sku id, qty), ...) for ``customer`` in ``channel`` at ``at``.

    Reads the catalogue as kept (:func:`catalogue`), and the coupon, if any, fresh."""
    cat = catalogue(sys)
    ids = sorted({sku for sku, _ in lines})
    skus = cat.sku_rows(sys, ids)
    for i, (sku, _qty) in enumerate(lines):
        if sku not in skus:
            raise api.ValidationError(api.message("no SKU %(sku)s", sku=sku),
                                      field=f"lines[{i}].sku")
    prices = cat.channel_prices(sys, channel["id"], ids)
    shipping = cat.shipping_classes(sys)
    parents = cat.category_parents(sys)
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
    promotions = {p["id"]: p for p in cat.active_promotions(sys)
                  if is_active(p, at, "starts_at", "ends_at")
                  and p["channel"] in (None, channel["id"])}
    plain = [_promo(p) for p in promotions.values() if not p["requires_coupon"]]
    coupon, coupon_promo, problem = None, None, None
    if coupon_code:
        coupon, problem = check_coupon(sys, coupon_code, customer, at)
        if coupon is not None:
            row = promotions.get(coupon["promotion"])
            if row is None:
                problem = api.message("coupon %(code)s: its promotion is not running now",
                                      code=coupon_code)
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
        return None, api.message("no coupon %(code)s", code=repr(code))
    if not is_active(coupon, at, "valid_from", "valid_to"):
        return None, api.message("coupon %(code)s is not valid now", code=code)
    if coupon["customer"] is not None and (customer is None
                                           or coupon["customer"] != customer["id"]):
        return None, api.message("coupon %(code)s belongs to another customer", code=code)
    if coupon["max_uses"] and coupon["remaining_uses"] <= 0:
        return None, api.message("coupon %(code)s has been used up", code=code)
    if customer is not None and first(sys, "coupon_redemption", [
            ("coupon", "=", coupon["id"]), ("customer", "=", customer["id"])]):
        return None, api.message("you have already used coupon %(code)s", code=code)
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
