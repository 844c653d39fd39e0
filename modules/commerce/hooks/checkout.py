"""Carts, checkout and payment: what the storefront endpoints do."""

from __future__ import annotations

from typing import Any

from yiti import api

from .common import first, now, system
from .orders import place
from .payments import Callback
from .quotes import catalogue

#: What the cart, checkout and payment steps read of the customer (with its id).
SHOPPER_FIELDS = ["code", "member_level"]


def customer_of(ctx: api.EndpointContext, fields: list[str] | None = None) -> dict[str, Any]:
    """The customer the signed-in user shops as (only ``fields`` and the id, when given);
    403 when there is none."""
    row = first(ctx.system, "customer", [("user", "=", ctx.user)], fields=fields)
    if row is None:
        raise api.Forbidden(f"user {ctx.user!r} is not a customer: set the user on a "
                            "customer record first")
    return row


def channel_for(sys: api.Records, code: Any) -> dict[str, Any]:
    """The channel ``code`` (or id); without one, the first active online mall. As kept
    in the catalogue: ``sys`` is the system's record service."""
    return catalogue(sys).channel_named(sys, code)


def shopper_cart(ctx: api.EndpointContext, channel: Any = None
                 ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The customer the signed-in user shops as (:data:`SHOPPER_FIELDS` and the id) and
    their open cart in ``channel`` with its lines, or None; 403 when the user is no
    customer. The cart is found by its customer's user, so an open cart costs no
    separate read of the customer."""
    sys = ctx.system
    filters: list[Any] = [("customer.user", "=", ctx.user), ("status", "=", "open")]
    if channel:
        filters.append(("channel", "=", channel_for(sys, channel)["id"]))
    found = first(sys, "cart", filters, sort=["-id"],
                  fields=["id", "customer", *(f"customer.{f}" for f in SHOPPER_FIELDS)])
    if found is None:
        return customer_of(ctx, SHOPPER_FIELDS), None
    customer = {"id": found["customer"],
                **{f: found[f"customer.{f}"] for f in SHOPPER_FIELDS}}
    return customer, sys.get("cart", found["id"])


def open_cart(ctx: api.EndpointContext, *, create: bool = True, channel: Any = None
              ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The customer (as :func:`shopper_cart`) and their open cart in ``channel``, created
    empty when there is none and ``create`` is given."""
    customer, cart = shopper_cart(ctx, channel)
    if cart is None and create:
        sys = ctx.system
        cart = sys.create("cart", {"customer": customer["id"],
                                   "channel": channel_for(sys, channel)["id"]})
    return customer, cart


def qty_of(body: dict[str, Any], default: int | None = None, *, field: str = "qty",
           least: int = 0) -> int:
    """``body``'s quantity (``default`` when it has none): a whole number from ``least``
    to 999, else a 422 at ``field``."""
    value = body.get("qty", default)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= 999:
        raise api.ValidationError(api.message("must be a whole number from %(least)s to 999",
                                              least=least), field=field)
    return value


def order_lines(sys: api.Records, lines: Any) -> list[tuple[int, int]]:
    """A request's ``[{"sku", "qty"}]`` (quantity 1 when left out) as (SKU id, quantity)
    pairs, SKUs by code or id from the kept catalogue; a 422 naming the line
    (``lines[1].sku``) for a SKU that does not exist or a quantity under 1."""
    found = []
    for i, line in enumerate(lines or []):
        if not isinstance(line, dict):
            raise api.ValidationError("must be {sku, qty}", field=f"lines[{i}]")
        sku = catalogue(sys).sku(sys, line.get("sku"), f"lines[{i}].sku")
        found.append((sku["id"], qty_of(line, 1, field=f"lines[{i}].qty", least=1)))
    return found


def set_line(ctx: api.EndpointContext, sku_code: Any, qty: int, *, add: bool,
             channel: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Add ``qty`` of a SKU to the cart (``add``) or set its quantity (0 removes it):
    the customer (as :func:`shopper_cart`) and the cart."""
    sys = ctx.system
    customer, cart = shopper_cart(ctx, channel)
    sku = catalogue(sys).sku(sys, sku_code)
    if cart is None:  # a new cart is written once, with its first line
        return customer, sys.create("cart", {
            "customer": customer["id"], "channel": channel_for(sys, channel)["id"],
            "lines": [{"sku": sku["id"], "qty": qty}] if qty > 0 else []})
    lines = [{"id": line["id"], "sku": line["sku"], "qty": line["qty"]}
             for line in cart["lines"]]
    existing = next((line for line in lines if line["sku"] == sku["id"]), None)
    if existing is None:
        if qty > 0:
            lines.append({"sku": sku["id"], "qty": qty})
    else:
        existing["qty"] = existing["qty"] + qty if add else qty
        if existing["qty"] <= 0:
            lines.remove(existing)
    return customer, sys.update("cart", cart["id"], {"lines": lines},
                                version=cart["version"])


def cart_lines(cart: dict[str, Any]) -> list[tuple[int, int]]:
    return [(line["sku"], line["qty"]) for line in cart["lines"]]


def checkout(ctx: api.EndpointContext, body: dict[str, Any]) -> dict[str, Any]:
    """Place the order from the customer's open cart, which is then closed; or, with
    ``body["lines"]`` ("buy now", as a flash-sale page does), from those lines and
    ``body["coupon_code"]``, leaving the cart as it is. With ``body["pay"]`` (a
    provider), the order's payment is started too (under ``payment``)."""
    sys = ctx.system
    if body.get("lines"):
        customer, cart = customer_of(ctx, SHOPPER_FIELDS), None
        channel = channel_for(sys, body.get("channel"))
        lines, coupon_code = order_lines(sys, body["lines"]), body.get("coupon_code")
    elif body.get("coupon_code"):
        raise api.ValidationError("a coupon goes with lines; apply one to the cart with "
                                  "cart/coupon", field="coupon_code")
    else:
        customer, cart = shopper_cart(ctx, body.get("channel"))
        if cart is None or not cart["lines"]:
            raise api.ValidationError(api.message("the cart is empty"), field="lines")
        channel = catalogue(sys).channel(sys, cart["channel"])
        lines, coupon_code = cart_lines(cart), cart["coupon_code"]
    values = {k: body[k] for k in ("ship_to_name", "ship_to_phone", "ship_to_address",
                                    "notes") if body.get(k) is not None}
    values["priority"] = body.get("priority") or (
        "vip" if customer["member_level"] == "vip" else "normal")
    order = place(ctx.records, channel=channel, customer=customer, lines=lines,
                  coupon_code=coupon_code, values=values, pay=body.get("pay"))
    if cart is not None:
        sys.update("cart", cart["id"], {"status": "ordered", "sales_order": order["id"]},
                   version=cart["version"])
    return order


def my_order(ctx: api.EndpointContext, name: Any, *, fields: list[str] | None = None
             ) -> dict[str, Any]:
    """An order of the calling customer (404 for anyone else's, as for a missing one),
    with its lines and promotions; with ``fields``, only those (one query)."""
    text = str(name or "")
    order = None
    if text and not text.isdigit():  # by its name only, never by id
        if fields is not None:
            order = first(ctx.system, "sales_order", [
                ("name", "=", text), ("customer.user", "=", ctx.user)],
                fields=[*fields, "customer"])
        else:
            try:
                order = ctx.system.get("sales_order", text)
            except api.NotFound:
                pass
    if fields is not None and order is not None:
        return order  # the query asked for the caller's own
    if order is None or order["customer"] != customer_of(ctx, SHOPPER_FIELDS)["id"]:
        if fields is not None:
            customer_of(ctx, SHOPPER_FIELDS)  # 403 for a user who is no customer at all
        raise api.NotFound(api.message("no order %(order)s", order=repr(name)))
    return order


def record_callback(records: api.Records, provider_name: str, callback: Callback
                    ) -> dict[str, Any]:
    """Apply a verified callback once: the payment succeeds (or fails) and the order is
    paid. The same transaction id again changes nothing (``already_processed``); a
    payment for an order cancelled before it is recorded and marked ``refunded``
    (``paid_but_order_cancelled``). A payment that failed may still succeed (the buyer
    tried again with the provider); a failure reported for a payment already settled
    changes nothing (``ignored``), and a second, different success is a double charge
    for people to refund (409).

    Races end in one of those answers, never in a 409 for someone else's write: the order
    is paid first, by the workflow's ``pay`` action, which locks the order's row for the
    rest of this transaction, so a cancel, the expiry job and a second delivery of the
    same callback (each taking that lock before anything else) wait for this one or it for
    them, and the order stays as this one read it afterwards until it commits. A failure
    notice does not touch the order; against a success at the same moment, the payment's
    version decides which came first, and the answers are as if they came one by one."""
    sys = system(records)
    payment = first(sys, "payment", [("name", "=", callback.payment),
                                     ("provider", "=", provider_name)])
    if payment is None:
        raise api.NotFound(f"no payment {callback.payment!r}")
    status = "succeeded" if callback.status == "succeeded" else "failed"
    settled = _settled(payment, callback, status)
    if settled is not None:
        return settled
    if callback.amount != payment["amount"]:
        raise api.ValidationError(f"the amount {callback.amount} is not the payment's "
                                  f"{payment['amount']}", field="amount")
    order, kept, paid_now = None, status, False
    if status == "succeeded":
        try:
            # no version: the system pays whatever the order became since the payment was
            # read; the engine checks its state on the locked row
            order = api.act(records, "sales_order", payment["sales_order"], "pay",
                            inputs={"paid_amount": payment["amount"]})
            paid_now = True
        except api.Conflict:
            # refused before writing anything, the row now locked by us: what it is now
            # (cancelled, or paid by the other delivery of this callback) stays so
            order = sys.get("sales_order", payment["sales_order"])
            if order["status"] == "pending_payment":
                raise
            if order["status"] == "cancelled":
                kept = "refunded"  # refund due, as a cancel marks a payment taken before it
    for _ in range(SETTLE_TRIES):
        try:
            sys.transition("payment", payment["id"], {
                "status": kept, "provider_txn": callback.transaction_id,
                "paid_at": now(records) if status == "succeeded" else None},
                action="callback", version=payment["version"])
            break
        except api.Conflict:
            # the payment changed since it was read: the same callback delivered twice at
            # once (the other delivery settled it first), or another transaction's callback
            payment = sys.get("payment", payment["id"])
            settled = _settled(payment, callback, status)
            if settled is not None and not paid_now:
                return settled
            if payment["status"] not in OPEN_PAYMENT:
                # had this one paid the order, answering would keep that: refuse, undoing it
                raise api.Conflict(f"payment {payment['name']} is already "
                                   f"{payment['status']}") from None
            # another failure notice came first: this one is written over it
    else:
        raise api.Conflict(f"payment {payment['name']} keeps changing; try again")
    if order is None:  # a failed payment leaves the order as it is
        order = sys.get("sales_order", payment["sales_order"])
    elif not paid_now:  # e.g. expired meanwhile: refund due
        return {"status": "paid_but_order_" + order["status"], "payment": payment["name"],
                "order": order["name"]}
    return {"status": status, "payment": payment["name"], "order": order["name"]}


#: a payment a callback may still settle: not yet paid, or failed (the buyer may try again)
OPEN_PAYMENT = ("pending", "failed")
#: how often a callback writes over another one's failure notice that came first
SETTLE_TRIES = 3


def _settled(payment: dict[str, Any], callback: Callback, status: str
             ) -> dict[str, Any] | None:
    """The answer when the payment needs no change for ``callback``, or None: this
    transaction is recorded already, or a failure arrives after the payment was settled.
    A second success of a settled payment is a 409 (two charges: refund one by hand)."""
    if payment["provider_txn"] == callback.transaction_id:
        return {"status": "already_processed", "payment": payment["name"]}
    if payment["status"] in OPEN_PAYMENT:
        return None
    if status == "failed":
        return {"status": "ignored", "payment": payment["name"]}
    raise api.Conflict(f"payment {payment['name']} is already {payment['status']}")
