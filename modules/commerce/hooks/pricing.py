"""The price calculation: deterministic, and every discount explained.

Pure: :func:`price` takes the lines (with their catalogue prices) and the promotions that
could apply, and returns a :class:`Quote`. Nothing here reads the database; the loader
(:mod:`.quotes`) gathers the inputs. The steps, in order (docs/commerce.md):

1. **Unit price**: the channel's price for the SKU, else the SKU's list price, else the
   product's. Discounts never change it; each is a listed amount off the line.
2. **Price promotions** (one per line, the lower price wins): the member price (for
   members) or an active flash sale of the SKU.
3. **Line promotions** (percentage, fixed per unit, buy X get Y): the one saving the most
   on each line; lines on flash sale take none.
4. **Spend-threshold reductions** (满300减50): the best one whose threshold the lines in
   its scope reach (after steps 2-3); its amount is shared by those lines pro rata.
5. **The coupon**, if any: its promotion (percentage, fixed or threshold) last.
6. **Shipping**: the largest shipping-class fee of the lines, free from its threshold.

Ties (two promotions saving the same) go to the lower ``priority``, then the lower code,
so the same cart always gets the same price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from yiti import api

CENT = Decimal("0.01")
ZERO = Decimal("0")


def pct(value: Decimal) -> str:
    """A percentage for an explanation: ``10``, ``12.5``."""
    return format(value.normalize(), "f")


def money(value: Decimal | int | str) -> Decimal:
    """Round half up to cents, the commercial way."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Item:
    """One line to price, with everything the rules look at."""

    line_no: int
    sku: int
    qty: int
    list_price: Decimal
    channel_price: Decimal | None = None
    member_price: Decimal | None = None
    product: int | None = None
    categories: tuple[int, ...] = ()  # the product's category and its ancestors
    tax_rate: Decimal = Decimal("13")
    shipping_fee: Decimal = ZERO
    free_shipping_over: Decimal | None = None
    title: str = ""


@dataclass(frozen=True)
class Promo:
    """A promotion as the rules see it (a ``promotion`` record)."""

    id: int
    code: str
    title: str
    kind: str
    scope: str = "all"
    category: int | None = None
    product: int | None = None
    sku: int | None = None
    percent: Decimal | None = None
    amount: Decimal | None = None
    threshold: Decimal | None = None
    buy_qty: int | None = None
    get_qty: int | None = None
    flash_price: Decimal | None = None
    priority: int = 100

    def covers(self, item: Item) -> bool:
        if self.scope == "category":
            return self.category in item.categories
        if self.scope == "product":
            return self.product == item.product
        if self.scope == "sku":
            return self.sku == item.sku
        return True

    @property
    def order(self) -> tuple[int, str]:
        return (self.priority, self.code)


@dataclass
class Line:
    """A priced line: ``qty * unit_price - discount`` is what the customer pays."""

    item: Item
    unit_price: Decimal
    discount: Decimal = ZERO
    flash_sale: Promo | None = None

    @property
    def gross(self) -> Decimal:
        return money(self.item.qty * self.unit_price)

    @property
    def amount(self) -> Decimal:
        return self.gross - self.discount

    @property
    def tax(self) -> Decimal:
        rate = self.item.tax_rate
        return money(self.amount * rate / (100 + rate))


@dataclass(frozen=True)
class Applied:
    """One discount given: by which promotion, on which line (None: shared), how much."""

    promotion: int | None
    code: str
    kind: str
    line_no: int | None
    amount: Decimal
    explanation: str


@dataclass
class Quote:
    lines: list[Line]
    applied: list[Applied] = field(default_factory=list)
    shipping_fee: Decimal = ZERO
    coupon_problem: str | None = None

    @property
    def subtotal(self) -> Decimal:
        return sum((line.gross for line in self.lines), ZERO)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def grand_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO) + self.shipping_fee

    @property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)


def price(items: Sequence[Item], promotions: Sequence[Promo], *, member: bool = False,
          coupon: Promo | None = None, coupon_code: str = "") -> Quote:
    """Price ``items`` under ``promotions`` (already filtered to active, in-channel ones
    that need no coupon), for a member or not, with the coupon's promotion if any."""
    quote = Quote([Line(item, _unit_price(item)) for item in items])
    ordered = sorted(promotions, key=lambda p: p.order)
    for line in quote.lines:
        _price_promotion(quote, line, member, [p for p in ordered if p.kind == "flash_sale"])
    line_kinds = ("percent_off", "fixed_off", "buy_x_get_y")
    for line in quote.lines:
        if line.flash_sale is None:
            _best_line_promotion(quote, line, [p for p in ordered if p.kind in line_kinds])
    _best_threshold(quote, [p for p in ordered if p.kind == "threshold"])
    if coupon is not None:
        _apply_coupon(quote, coupon, coupon_code)
    _shipping(quote)
    return quote


def _unit_price(item: Item) -> Decimal:
    return money(item.channel_price if item.channel_price is not None else item.list_price)


def _give(quote: Quote, line: Line, promo: Promo | None, code: str, kind: str,
          amount: Decimal, explanation: str) -> None:
    amount = min(money(amount), line.amount)
    if amount <= 0:
        return
    line.discount += amount
    quote.applied.append(Applied(promo.id if promo else None, code, kind, line.item.line_no,
                                 amount, explanation))


def _price_promotion(quote: Quote, line: Line, member: bool, flash: list[Promo]) -> None:
    """The member price or a flash sale: whichever gives the lower price (step 2)."""
    unit = line.unit_price
    best: tuple[Decimal, Promo | None] | None = None
    if member and line.item.member_price is not None and line.item.member_price < unit:
        best = (money(line.item.member_price), None)
    for promo in flash:
        if promo.sku == line.item.sku and promo.flash_price is not None \
                and promo.flash_price < unit and (best is None or promo.flash_price < best[0]):
            best = (money(promo.flash_price), promo)
    if best is None:
        return
    new_price, promo = best
    qty = line.item.qty
    if promo is None:
        _give(quote, line, None, "MEMBER", "member_price", (unit - new_price) * qty,
              f"member price {new_price} instead of {unit}, x {qty}")
        return
    line.flash_sale = promo
    _give(quote, line, promo, promo.code, promo.kind, (unit - new_price) * qty,
          f"flash sale price {new_price} instead of {unit}, x {qty}")


def _line_saving(promo: Promo, line: Line) -> tuple[Decimal, str]:
    qty, left = line.item.qty, line.amount
    if promo.kind == "percent_off" and promo.percent:
        return money(left * promo.percent / 100), f"{pct(promo.percent)}% off {left}"
    if promo.kind == "fixed_off" and promo.amount:
        return min(money(promo.amount * qty), left), f"{promo.amount} off each of {qty}"
    if promo.kind == "buy_x_get_y" and promo.buy_qty and promo.get_qty:
        free = qty // (promo.buy_qty + promo.get_qty) * promo.get_qty
        each = left / qty
        return (money(each * free),
                f"buy {promo.buy_qty} get {promo.get_qty} free: {free} of {qty} free at {money(each)}")
    return ZERO, ""


def _best_line_promotion(quote: Quote, line: Line, promos: list[Promo]) -> None:
    """The line promotion saving the most on ``line`` (step 3); ties by priority, code."""
    best: tuple[Decimal, Promo, str] | None = None
    for promo in promos:  # already in (priority, code) order: keep the first of equals
        if not promo.covers(line.item):
            continue
        saving, how = _line_saving(promo, line)
        if saving > 0 and (best is None or saving > best[0]):
            best = (saving, promo, how)
    if best is not None:
        saving, promo, how = best
        _give(quote, line, promo, promo.code, promo.kind, saving, how)


def _share(quote: Quote, lines: list[Line], promo: Promo, code: str, total: Decimal,
           how: str) -> None:
    """Give ``total`` off ``lines`` pro rata to what is left on each; the last line takes
    the remainder so the parts add up to the total exactly."""
    base = sum((line.amount for line in lines), ZERO)
    total = min(money(total), base)
    given = ZERO
    for i, line in enumerate(lines):
        part = total - given if i == len(lines) - 1 else money(total * line.amount / base)
        part = min(part, line.amount)
        given += part
        if part > 0:
            line.discount += part
    quote.applied.append(Applied(promo.id, code, promo.kind, None, total,
                                 f"{how}; shared by {len(lines)} line(s)"))


def _best_threshold(quote: Quote, promos: list[Promo]) -> None:
    """The spend-threshold reduction saving the most whose threshold is reached (step 4)."""
    best: tuple[Decimal, Promo, list[Line], Decimal] | None = None
    for promo in promos:
        lines = [line for line in quote.lines if promo.covers(line.item) and line.amount > 0]
        spent = sum((line.amount for line in lines), ZERO)
        if not lines or promo.threshold is None or spent < promo.threshold:
            continue
        saving = min(money(promo.amount or 0), spent)
        if best is None or saving > best[0]:
            best = (saving, promo, lines, spent)
    if best is not None:
        saving, promo, lines, spent = best
        _share(quote, lines, promo, promo.code, saving,
               f"spent {spent} >= {promo.threshold}: {saving} off")


def _apply_coupon(quote: Quote, promo: Promo, code: str) -> None:
    """The coupon's promotion, applied last (step 5)."""
    lines = [line for line in quote.lines if promo.covers(line.item) and line.amount > 0]
    spent = sum((line.amount for line in lines), ZERO)
    label = f"coupon {code}"
    if not lines:
        quote.coupon_problem = api.message("coupon %(code)s applies to none of these items",
                                           code=code)
    elif promo.kind == "threshold":
        if promo.threshold is not None and spent >= promo.threshold:
            _share(quote, lines, promo, code, money(promo.amount or 0),
                   f"{label}: spent {spent} >= {promo.threshold}: {promo.amount} off")
        else:
            quote.coupon_problem = api.message(
                "coupon %(code)s needs a spend of %(threshold)s on its items (now %(spent)s)",
                code=code, threshold=promo.threshold, spent=spent)
    elif promo.kind == "percent_off" and promo.percent:
        for line in lines:
            _give(quote, line, promo, code, promo.kind, line.amount * promo.percent / 100,
                  f"{label}: {pct(promo.percent)}% off {line.amount}")
    elif promo.kind == "fixed_off" and promo.amount:
        for line in lines:
            _give(quote, line, promo, code, promo.kind, promo.amount * line.item.qty,
                  f"{label}: {promo.amount} off each of {line.item.qty}")
    else:
        quote.coupon_problem = api.message("coupon %(code)s gives nothing on these items",
                                           code=code)


def _shipping(quote: Quote) -> None:
    """The largest shipping-class fee of the lines, waived from its free threshold."""
    costly = max(quote.lines, key=lambda line: line.item.shipping_fee, default=None)
    if costly is None or costly.item.shipping_fee <= 0:
        return
    goods = sum((line.amount for line in quote.lines), ZERO)
    free_over = costly.item.free_shipping_over
    if free_over is not None and goods >= free_over:
        return
    quote.shipping_fee = money(costly.item.shipping_fee)
