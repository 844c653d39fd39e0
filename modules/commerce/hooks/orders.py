"""Orders: placing (price, reserve), the status flow's stock effects, cancelling, expiring.

The status flow is the workflow ``workflows/sales_order.yaml`` (docs/commerce.md,
"Orders"): its states, which roles may take each action, the inputs an action needs (a
carrier and a tracking number to ship) and the fields each state stamps. The status is
read-only and changes only through the workflow engine: :func:`move_status` takes an
action with :func:`yiti.api.act` as the caller's actor, so a refused action is a 409
(wrong state, or a condition that does not hold) or a 403 (not the caller's to take),
and the order's workflow history names who moved it, when, from and to.

The stock effects are the workflow's hooks, run in the transition's transaction just
before it is written (all or nothing with it; the lines they return are saved with it): :func:`release_goods` on entering ``cancelled`` gives back the
reservations and the flash-sale and coupon counters and marks a succeeded payment for
refund; :func:`ship_goods` on entering ``shipped`` records the shipment and posts the
ship moves. :func:`place` creates an order through the ``place`` action (pending payment,
its stock reserved; the history names who placed it) in one transaction; :func:`expire` cancels
unpaid orders whose reservation ran out through the ``expire`` action (from pending payment
only), as the system.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from yiti import api

from .common import all_rows, aware, first, now, system
from .payments import start_payment
from .quotes import catalogue, quote
from .stock import post, release_move, reserve_many, ship_move

SYSTEM_KEYS = ("name", "version", "created_at", "created_by", "modified_at", "modified_by",
               "docstatus", "amended_from", "parent_id", "idx")


def move_status(records: api.Records, order: dict[str, Any], action: str,
                inputs: dict[str, Any] | None = None, at: dt.datetime | None = None, *,
                comment: str | None = None) -> dict[str, Any]:
    """Take the workflow ``action`` on ``order`` (a record read in this transaction) as
    ``records``' actor, with the transition's ``inputs`` (``{"paid_amount": ...}`` to pay,
    ``{"carrier", "tracking_no"}`` to ship) and ``comment`` (a cancellation's reason);
    ``at`` (the system only) backdates it. Refused with 409 from the wrong state, 403 when
    the actor may not take it, 422 for a missing input or reason."""
    return api.act(records, "sales_order", order["id"], action, comment=comment,
                   inputs=inputs, version=order["version"], at=at)


def line_values(line: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An order line to send back in an update (its id kept), with ``changes``."""
    return {**{k: v for k, v in line.items() if k not in SYSTEM_KEYS}, **changes}


def place(records: api.Records, *, channel: dict[str, Any], customer: dict[str, Any],
          lines: Sequence[tuple[int, int]], coupon_code: str | None = None,
          values: dict[str, Any] | None = None, store: dict[str, Any] | None = None,
          at: dt.datetime | None = None, pay: str | None = None) -> dict[str, Any]:
    """Price ``lines`` and create the order with its stock reserved, all or nothing; with
    ``pay`` (a provider), its payment started too, under the order's ``payment``.

    Writes go cold rows first (the order, its payment, the ledger's moves) and hot rows
    last (coupon, per-customer flash-sale limit, the flash sale's total, then stock), so a
    hot row's lock is held only to the commit.
    """
    with system(records).unit_of_work():
        return _place(records, channel=channel, customer=customer, lines=lines,
                      coupon_code=coupon_code, values=values, store=store, at=at, pay=pay)


def _place(records: api.Records, *, channel: dict[str, Any], customer: dict[str, Any],
           lines: Sequence[tuple[int, int]], coupon_code: str | None,
           values: dict[str, Any] | None, store: dict[str, Any] | None,
           at: dt.datetime | None, pay: str | None) -> dict[str, Any]:
    sys = system(records)
    at = at or now(records)
    if channel["status"] != "active":
        raise api.ValidationError(api.message("channel %(channel)s is not selling now",
                                              channel=channel["code"]),
                                  field="channel")
    if not lines:
        raise api.ValidationError(api.message("an order needs at least one line"),
                                  field="lines")
    priced = quote(sys, channel=channel, customer=customer, lines=lines,
                   coupon_code=coupon_code, at=at)
    if coupon_code and priced.quote.coupon_problem:
        raise api.ValidationError(priced.quote.coupon_problem, field="coupon_code")
    _check_on_sale(sys, channel, priced.skus, lines)
    warehouse = (store or {}).get("warehouse") or channel["warehouse"]
    q = priced.quote
    # Refuse a sold-out order before writing anything (one query for the levels, which
    # reserving needs anyway, and one for the flash sales' caps when a line is on one);
    # the reservation itself is still the atomic, exact check.
    levels = _levels_or_refuse(sys, warehouse, priced.skus, lines)
    _flash_cap_or_refuse(sys, q.lines)
    guess = _quota_guess(sys, channel, warehouse, q.lines)
    # created through the workflow's place action (draft -> pending_payment), so the
    # order's history starts with who placed it, when: one insert, one history row
    caller = None if records.actor.system else records.actor.name
    order = api.create_with_action(sys, "sales_order", {
        **(values or {}),
        "channel": channel["id"], "customer": customer["id"],
        "store": store["id"] if store else None, "order_date": at,
        "coupon_code": priced.coupon["code"] if priced.coupon else None,
        "shipping_fee": q.shipping_fee,
        "reserved_until": at + dt.timedelta(minutes=channel["reservation_minutes"] or 30),
        "lines": [{"sku": line.item.sku, "title": line.item.title, "qty": line.item.qty,
                   "list_price": line.item.list_price, "unit_price": line.unit_price,
                   "discount": line.discount, "tax_rate": line.item.tax_rate,
                   "warehouse": warehouse, "reserved_qty": line.item.qty,
                   "reserved_from": "channel" if line.item.sku in guess else "free",
                   "promotion": line.flash_sale.id if line.flash_sale else None}
                  for line in q.lines],
        "promotions": [{"promotion": a.promotion, "code": a.code, "kind": a.kind,
                        "line_no": a.line_no, "amount": a.amount,
                        "explanation": a.explanation[:400]} for a in q.applied],
    }, "place", at=at, behalf=caller)
    payment = start_payment(sys, order, pay) if pay else None
    if priced.coupon is not None:
        sys.create("coupon_redemption", {"coupon": priced.coupon["id"],
                                         "customer": customer["id"], "sales_order": order["id"]})
        if priced.coupon["max_uses"]:
            _counter(sys, "coupon", priced.coupon["id"], "remaining_uses", -1, "coupon_code",
                     api.message("coupon %(code)s has been used up",
                                 code=priced.coupon["code"]))
    _take_flash_sales(sys, order, customer, priced.promotions)
    order = _reserve(records, order, channel, levels, guess)
    return order if payment is None else {**order, "payment": payment}


def _levels_or_refuse(sys: api.Records, warehouse: int, skus: dict[int, dict],
                      lines: Sequence[tuple[int, int]]) -> dict[int, int]:
    """The stock level ids of the lines' SKUs in ``warehouse``, by SKU; refuses (422 on
    the line) a SKU with no level or fewer available than the order asks for."""
    wanted: dict[int, int] = {}
    for sku, qty in lines:
        wanted[sku] = wanted.get(sku, 0) + qty
    # the warehouse read with the levels: the order's lines and the stock moves then
    # link to a row this transaction has seen, which needs no lookup (docs/records.md)
    rows = {row["sku"]: row for row in sys.list(
        "stock_level", filters=[("warehouse", "=", warehouse), ("sku", "in", sorted(wanted))],
        fields=["id", "sku", "warehouse", "available"], limit=len(wanted)).rows}
    for i, (sku, _qty) in enumerate(lines):
        row = rows.get(sku)
        if row is None:
            raise api.ValidationError(api.message("%(sku)s is out of stock",
                                                  sku=skus[sku]["code"]),
                                      field=f"lines[{i}].qty")
        if row["available"] < wanted[sku]:
            code = sys.get("warehouse", warehouse)["code"]
            raise api.ValidationError(api.message(
                "not enough stock of %(sku)s in %(warehouse)s: %(available)s available",
                sku=skus[sku]["code"], warehouse=code, available=row["available"]),
                field=f"lines[{i}].qty")
    return {sku: row["id"] for sku, row in rows.items()}


def _flash_cap_or_refuse(sys: api.Records, lines: Sequence[Any]) -> None:
    """Refuse (422) lines on a flash sale whose total left is less than they take."""
    taken: dict[int, int] = {}
    for line in lines:
        if line.flash_sale is not None:
            taken[line.flash_sale.id] = taken.get(line.flash_sale.id, 0) + line.item.qty
    if not taken:
        return
    for row in sys.list("promotion", filters=[("id", "in", sorted(taken))],
                        fields=["id", "title", "remaining_qty"], limit=len(taken)).rows:
        if (row["remaining_qty"] or 0) < taken[row["id"]]:
            raise api.ValidationError(api.message("%(sale)s is sold out", sale=row["title"]),
                                      field="lines")


def _quota_guess(sys: api.Records, channel: dict, warehouse: int, lines: Sequence[Any]
                 ) -> dict[int, int]:
    """The channel's allocation rows (``channel_stock`` ids by SKU) that will probably
    cover the lines: checked again, atomically, when reserving (a line whose allocation
    was taken meanwhile is reserved from unallocated stock). No query when the channel
    holds no allocation in the warehouse (as kept by the catalogue)."""
    if not catalogue(sys).has_allocations(sys, channel["id"], warehouse):
        return {}
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.item.sku] = wanted.get(line.item.sku, 0) + line.item.qty
    rows = sys.list("channel_stock", filters=[
        ("channel", "=", channel["id"]), ("warehouse", "=", warehouse),
        ("sku", "in", sorted(wanted))], fields=["id", "sku", "available"],
        limit=len(wanted)).rows
    return {row["sku"]: row["id"] for row in rows if row["available"] >= wanted[row["sku"]]}


def _check_on_sale(sys: api.Records, channel: dict, skus: dict[int, dict],
                   lines: Sequence[tuple[int, int]]) -> None:
    listed = catalogue(sys).listed_products(sys, channel["id"],
                                            {skus[sku]["product"] for sku, _ in lines})
    for i, (sku_id, _qty) in enumerate(lines):
        sku = skus[sku_id]
        if not sku["active"] or sku["product.status"] != "active" \
                or sku["product"] not in listed:
            raise api.ValidationError(api.message("%(sku)s is not on sale in %(channel)s",
                                                  sku=sku["code"], channel=channel["code"]),
                                      field=f"lines[{i}].sku")


def _counter(sys: api.Records, entity: str, ident: int, field: str, delta: int,
             error_field: str, message: str) -> None:
    try:
        sys.adjust(entity, [(ident, {field: delta})])
    except api.ValidationError:
        raise api.ValidationError(message, field=error_field) from None


def _take_flash_sales(sys: api.Records, order: dict, customer: dict,
                      promotions: dict[int, dict]) -> None:
    """Count flash-sale units against the customer's limit and the sale's total cap."""
    taken: dict[int, int] = {}
    for line in order["lines"]:
        if line["promotion"] is not None:
            taken[line["promotion"]] = taken.get(line["promotion"], 0) + line["qty"]
    for promo_id in sorted(taken):
        promo, qty = promotions[promo_id], taken[promo_id]
        if promo["per_customer_limit"]:
            quota = first(sys, "flash_sale_quota", [("promotion", "=", promo_id),
                                                    ("customer", "=", customer["id"])],
                          fields=["id"])
            too_many = api.message("%(sale)s: at most %(n)s per customer",
                                   sale=promo["title"], n=promo["per_customer_limit"])
            if quota is not None:
                _counter(sys, "flash_sale_quota", quota["id"], "remaining", -qty, "lines",
                         too_many)
                continue
            if qty > promo["per_customer_limit"]:
                raise api.ValidationError(too_many, field="lines")
            # the customer's first: written with these units taken (a second order racing
            # it meets the unique key on promotion and customer, and is refused)
            sys.create("flash_sale_quota", {
                "promotion": promo_id, "customer": customer["id"],
                "remaining": promo["per_customer_limit"] - qty})
    for promo_id in sorted(taken):
        _counter(sys, "promotion", promo_id, "remaining_qty", -taken[promo_id], "lines",
                 api.message("%(sale)s is sold out", sale=promotions[promo_id]["title"]))


def _reserve(records: api.Records, order: dict, channel: dict, levels: dict[int, int],
             quotas: dict[int, int]) -> dict:
    """Reserve every line's stock (``levels``: level ids by SKU, ``quotas``: the channel's
    allocation rows that may cover them); returns the order, its lines' ``reserved_from``
    corrected where the guess was wrong."""
    sys = system(records)
    wanted = [(line["sku"], line["warehouse"], line["qty"]) for line in order["lines"]]
    sources = reserve_many(records, wanted, channel["id"], order=order["id"],
                           reference=order["name"], levels={
                               (line["sku"], line["warehouse"]): levels[line["sku"]]
                               for line in order["lines"]},
                           quotas={(sku, order["lines"][0]["warehouse"]): ident
                                   for sku, ident in quotas.items()})
    if all(source == line["reserved_from"]
           for source, line in zip(sources, order["lines"], strict=True)):
        return order
    # record where each line's stock came from: part of placing it, though the placed
    # order's lines are locked
    with api.action_effects("sales_order", order["id"]):
        return sys.transition("sales_order", order["id"], {"lines": [
            line_values(line, reserved_from=source)
            for source, line in zip(sources, order["lines"], strict=True)]}, action="reserve")


def release(records: api.Records, order: dict, note: str) -> None:
    """Give back every line's reservation and the flash-sale and coupon counters."""
    sys = system(records)
    moves = [release_move(line["sku"], line["warehouse"], line["reserved_qty"],
                                order["channel"], line["reserved_from"] or "free",
                                order=order["id"], reference=order["name"], note=note)
             for line in order["lines"] if line["reserved_qty"]]
    # the counters in the order placing takes them (coupon, flash-sale quota, the sale's
    # total, then stock), so a cancel and a placement never wait for each other in a circle
    redemption = first(sys, "coupon_redemption", [("sales_order", "=", order["id"])])
    if redemption is not None:
        coupon = sys.get("coupon", redemption["coupon"])
        sys.delete("coupon_redemption", redemption["id"])
        if coupon["max_uses"]:
            sys.adjust("coupon", [(coupon["id"], {"remaining_uses": 1})])
    taken: dict[int, int] = {}
    for line in order["lines"]:
        if line["promotion"] is not None:
            taken[line["promotion"]] = taken.get(line["promotion"], 0) + line["qty"]
    for promo_id in sorted(taken):
        quota = first(sys, "flash_sale_quota", [("promotion", "=", promo_id),
                                                ("customer", "=", order["customer"])])
        if quota is not None:
            sys.adjust("flash_sale_quota", [(quota["id"], {"remaining": taken[promo_id]})])
    for promo_id in sorted(taken):
        sys.adjust("promotion", [(promo_id, {"remaining_qty": taken[promo_id]})])
    post(records, moves)


def cancel(records: api.Records, order: dict, reason: str) -> dict:
    """Cancel ``order`` as ``records``' actor, ``reason`` kept as its ``cancel_reason``:
    its reservations return (:func:`release_goods`), all or nothing; 409 once shipped."""
    return move_status(records, order, "cancel", comment=reason)


def ship(records: api.Records, order: dict, carrier: str | None, tracking_no: str | None,
         at: dt.datetime | None = None) -> dict:
    """Ship every line as ``records``' actor: a shipment, and the reserved goods leave the
    warehouse (:func:`ship_goods`); 422 naming ``carrier`` or ``tracking_no`` when one is
    missing, 409 from a state it can't be shipped from. ``at``: the system only (demo)."""
    return move_status(records, order, "ship", {"carrier": carrier, "tracking_no": tracking_no},
                       at=at)


def _unreserved(order: dict) -> list[dict]:
    return [line_values(line, reserved_qty=0) for line in order["lines"]]


def release_goods(doc: dict[str, Any], ctx: api.HookContext) -> dict[str, Any]:
    """Workflow hook on entering ``cancelled``, before the write: every reservation,
    flash-sale and coupon counter back; a succeeded payment marked for refund. Returns the
    lines with nothing reserved, saved with the transition."""
    sys = system(ctx.records)
    order = sys.get("sales_order", doc["id"])
    release(ctx.records, order, doc.get("cancel_reason") or "cancelled")
    for payment in all_rows(sys, "payment", [("sales_order", "=", order["id"]),
                                             ("status", "=", "succeeded")]):
        # the refund itself goes through the provider; the payment is marked for it
        sys.transition("payment", payment["id"], {"status": "refunded"}, action="refund")
    return {"lines": _unreserved(order)}


def ship_goods(doc: dict[str, Any], ctx: api.HookContext) -> dict[str, Any]:
    """Workflow hook on entering ``shipped``, before the write: the shipment (the ``ship``
    action's carrier and tracking number) and the reserved goods' ship moves. Returns the
    lines with nothing reserved, saved with the transition."""
    sys = system(ctx.records)
    order = sys.get("sales_order", doc["id"])
    transition = ctx.transition or {}
    given = transition.get("inputs") or {}
    warehouses = sorted({line["warehouse"] for line in order["lines"]})
    shipment = sys.create("shipment", {"sales_order": order["id"], "carrier": given["carrier"],
                                       "tracking_no": given["tracking_no"],
                                       "warehouse": warehouses[0],
                                       "shipped_at": doc.get("shipped_at") or transition["at"]})
    post(ctx.records, [ship_move(line["sku"], line["warehouse"], line["reserved_qty"],
                                 order["channel"], line["reserved_from"] or "free",
                                 order=order["id"], reference=shipment["name"])
                       for line in order["lines"] if line["reserved_qty"]])
    return {"lines": _unreserved(order)}


EXPIRED = "not paid in time: the reservation expired"


def expire(records: api.Records, at: dt.datetime, limit: int = 500) -> dict[str, list[str]]:
    """Cancel unpaid orders whose reservation ran out before ``at`` (the ``expire`` action,
    as the system), each in its own transaction; call it outside a transaction.

    The list is only a candidate list: an order may be paid or cancelled by someone else
    between the list and its turn (a batch takes seconds). The ``expire`` action leaves
    ``pending_payment`` only, and the engine decides it on the order's locked row, so such
    an order is refused (409) and skipped, never cancelled, and the other orders go on.
    Answers the names ``expired``, ``skipped`` (no longer pending payment) and ``failed``
    (``"SO-...: why"``, still pending: the next run tries again)."""
    sys = system(records)
    done: dict[str, list[str]] = {"expired": [], "skipped": [], "failed": []}
    for row in sys.list("sales_order", filters=[("status", "=", "pending_payment"),
                                                ("reserved_until", "<", at)],
                        sort=["reserved_until"], limit=limit,
                        fields=["id", "name", "reserved_until"]).rows:
        until = aware(row["reserved_until"])
        if until is None or until >= at:  # SQLite compares the stored text
            continue
        try:
            # one transaction per order: its cancel commits at once (a payment waiting on
            # the row gets its answer now, not after the batch) and a refusal undoes it alone
            with sys.unit_of_work():
                api.act(sys, "sales_order", row["id"], "expire", comment=EXPIRED)
        except (api.Conflict, api.ValidationError) as error:
            status = sys.get("sales_order", row["id"])["status"]
            if status != "pending_payment":
                done["skipped"].append(row["name"])  # paid or cancelled meanwhile
            else:
                done["failed"].append(f"{row['name']}: {error}")
        else:
            done["expired"].append(row["name"])
    return done
