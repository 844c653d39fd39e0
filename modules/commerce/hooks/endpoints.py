"""The commerce API: ``/api/v1/x/commerce/<name>`` (docs/commerce.md has examples).

Customers (a user named on a ``customer`` record) use the cart, checkout and order
endpoints; staff roles the order and stock operations; the payment provider calls the
public callback, which trusts nothing but its signature.
"""

from __future__ import annotations

from typing import Any

from yiti import api

from . import schemas as S
from .catalogue import listed_products, product_detail
from .checkout import (
    SHOPPER_FIELDS,
    cart_lines,
    channel_for,
    customer_of,
    open_cart,
    order_lines,
    qty_of,
    record_callback,
    set_line,
    shopper_cart,
)
from .checkout import checkout as place_from_cart
from .checkout import (
    my_order as find_my_order,
)
from .common import lookup
from .orders import cancel, move_status, place, ship
from .payments import provider, start_payment
from .quotes import catalogue, quote, quote_json
from .stock import allocate

STAFF = ["Shop Manager", "Order Clerk"]


def _cart_json(ctx: api.EndpointContext, customer: dict[str, Any],
               cart: dict[str, Any] | None) -> dict[str, Any]:
    """The customer's cart with its quote."""
    if cart is None:
        return {"cart": None, "lines": [], "quote": None}
    sys = ctx.system
    channel = catalogue(sys).channel(sys, cart["channel"])
    priced = quote(sys, channel=channel, customer=customer,
                   lines=cart_lines(cart), coupon_code=cart["coupon_code"],
                   at=ctx.now()) if cart["lines"] else None
    return {"cart": cart["id"], "channel": channel["code"], "coupon_code": cart["coupon_code"],
            "lines": [{"sku": line["sku"], "qty": line["qty"]} for line in cart["lines"]],
            "quote": quote_json(priced) if priced else None}


@api.endpoint("cart", methods=["GET"], request=S.CART_QUERY, response=S.CART,
              errors=(403, 422))
def get_cart(ctx: api.EndpointContext) -> dict[str, Any]:
    """The open cart (``?channel=CODE``) with its quote."""
    return _cart_json(ctx, *shopper_cart(ctx, ctx.args.get("channel")))


@api.endpoint("cart/add", request=S.CART_ADD, response=S.CART, status=200,
              errors=(403, 409, 422))
def cart_add(ctx: api.EndpointContext) -> dict[str, Any]:
    """``{"sku": "TS-001-RED-M", "qty": 2, "channel": "ONLINE"}``: add to the cart."""
    body = ctx.body_object()
    return _cart_json(ctx, *set_line(ctx, body.get("sku"), qty_of(body, 1), add=True,
                                     channel=body.get("channel")))


@api.endpoint("cart/update", request=S.CART_UPDATE, response=S.CART, status=200,
              errors=(403, 409, 422))
def cart_update(ctx: api.EndpointContext) -> dict[str, Any]:
    """``{"sku": ..., "qty": 3}``: set a line's quantity (0 removes it)."""
    body = ctx.body_object()
    return _cart_json(ctx, *set_line(ctx, body.get("sku"), qty_of(body), add=False,
                                     channel=body.get("channel")))


@api.endpoint("cart/remove", request=S.CART_REMOVE, response=S.CART, status=200,
              errors=(403, 409, 422))
def cart_remove(ctx: api.EndpointContext) -> dict[str, Any]:
    """``{"sku": ...}``: remove a line."""
    body = ctx.body_object()
    return _cart_json(ctx, *set_line(ctx, body.get("sku"), 0, add=False,
                                     channel=body.get("channel")))


@api.endpoint("cart/coupon", request=S.CART_COUPON, response=S.CART, status=200,
              errors=(403, 409, 422))
def cart_coupon(ctx: api.EndpointContext) -> dict[str, Any]:
    """``{"code": "WELCOME20"}`` applies a coupon (``{"code": null}`` removes it); a coupon
    the customer may not use is refused (422) naming why."""
    body = ctx.body_object()
    customer, cart = open_cart(ctx, channel=body.get("channel"))
    assert cart is not None
    code = (body.get("code") or "").strip().upper() or None
    if code:
        from .quotes import check_coupon

        found, problem = check_coupon(ctx.system, code, customer, ctx.now())
        if found is None:
            raise api.ValidationError(problem or api.message("no such coupon"), field="code")
    cart = ctx.system.update("cart", cart["id"], {"coupon_code": code},
                             version=cart["version"])
    return _cart_json(ctx, customer, cart)


@api.endpoint("cart/quote", request=S.CART_QUOTE, response=S.QUOTE_OR_NOTHING, status=200,
              errors=(403, 422))
def cart_quote(ctx: api.EndpointContext) -> dict[str, Any]:
    """The price of the cart, or of ``{"lines": [{"sku", "qty"}], "coupon_code",
    "channel"}`` without touching the cart: every promotion applied, explained."""
    body = ctx.body_object()
    if not body.get("lines"):
        return _cart_json(ctx, *shopper_cart(ctx, body.get("channel")))["quote"] or {}
    sys = ctx.system
    lines = order_lines(sys, body["lines"])
    priced = quote(sys, channel=channel_for(sys, body.get("channel")),
                   customer=customer_of(ctx, SHOPPER_FIELDS), lines=lines,
                   coupon_code=body.get("coupon_code"), at=ctx.now())
    return quote_json(priced)


@api.endpoint("checkout", request=S.CHECKOUT, response=S.ORDER_AND_PAYMENT, status=201,
              errors=(403, 409, 422))
def place_order(ctx: api.EndpointContext) -> api.Reply:
    """Place the order from the cart, or from ``lines`` ("buy now"; send an
    ``Idempotency-Key``): prices it, reserves its stock, and answers 201 with the order,
    due to be paid by ``reserved_until``; with ``pay`` (a provider), its payment started
    too, in the same transaction, under ``payment``."""
    order = place_from_cart(ctx, ctx.body_object())
    return api.Reply(order, 201, {"Location": f"/api/v1/sales_order/{order['id']}"})


@api.endpoint("orders", methods=["GET"], request=S.NO_PARAMETERS, response=S.ORDERS,
              errors=(403,))
def my_orders(ctx: api.EndpointContext) -> dict[str, Any]:
    """The calling customer's orders, newest first."""
    customer = customer_of(ctx)
    page = ctx.system.list("sales_order", filters=[("customer", "=", customer["id"])],
                           sort=["-order_date"], limit=50, fields=[
                               "id", "name", "order_date", "status", "grand_total",
                               "reserved_until"])
    return {"data": page.rows}


@api.endpoint("order", methods=["GET"], request=S.ORDER_QUERY, response=S.ORDER,
              errors=(403, 404))
def my_order(ctx: api.EndpointContext) -> dict[str, Any]:
    """``?name=SO-...``: one of the calling customer's orders, with lines and promotions."""
    return find_my_order(ctx, ctx.args.get("name"))


@api.endpoint("orders/pay", request=S.PAY, response=S.PAYMENT_STARTED, status=201,
              errors=(403, 404, 409, 422))
def pay(ctx: api.EndpointContext) -> api.Reply:
    """``{"order": "SO-...", "provider": "test"}``: start paying; the provider's answer
    (a URL to pay at) and the payment's name, which its callback will carry."""
    body = ctx.body_object()
    order = find_my_order(ctx, body.get("order"), fields=["name", "status", "grand_total"])
    return api.Reply(start_payment(ctx.system, order, body.get("provider") or "test"), 201)


@api.endpoint("orders/cancel", request=S.MY_ORDER, response=S.ORDER, status=200,
              errors=(403, 404, 409, 422))
def cancel_my_order(ctx: api.EndpointContext) -> dict[str, Any]:
    """``{"order": "SO-..."}``: cancel an unpaid order of the caller; stock returns."""
    order = find_my_order(ctx, ctx.body_object().get("order"))
    if order["status"] != "pending_payment":
        raise _not_yours_to_cancel(order)
    try:
        return cancel(ctx.records, order, "cancelled by the customer")
    except (api.Forbidden, api.Conflict):
        # Paid (or cancelled) since it was read: the engine saw that on the order's locked
        # row and refused, a paid order with 403 (only staff may cancel it). Answer as if
        # the request had come after, as the documented 409.
        now = ctx.system.get("sales_order", order["id"])
        if now["status"] == "pending_payment":
            raise
        raise _not_yours_to_cancel(now) from None


def _not_yours_to_cancel(order: dict[str, Any]) -> api.Conflict:
    return api.Conflict(api.message("order %(order)s is %(status)s: ask the shop",
                                    order=order["name"], status=order["status"]))


@api.endpoint("payments/test/callback", auth="public", request=S.CALLBACK,
              response=S.CALLBACK_DONE, status=200, errors=(401, 404, 409, 422))
def test_callback(ctx: api.EndpointContext) -> dict[str, Any]:
    """The test provider's signed callback (see payments.py for the signature)."""
    chosen = provider(ctx.system, "test")
    callback = chosen.verify(dict(ctx.headers), ctx.body, ctx.now())
    return record_callback(ctx.system, "test", callback)


# -- staff ---------------------------------------------------------------------------------

def _order(ctx: api.EndpointContext) -> tuple[dict[str, Any], dict[str, Any]]:
    body = ctx.body_object()
    order = lookup(ctx.records, "sales_order", body.get("order"), field="name",
                   param="order")
    return body, ctx.system.get("sales_order", order["id"])


@api.endpoint("orders/place", roles=STAFF, request=S.STAFF_PLACE, response=S.ORDER,
              status=201, errors=(403, 409, 422))
def staff_place(ctx: api.EndpointContext) -> api.Reply:
    """Staff: ``{"channel", "customer", "lines": [{"sku", "qty"}], "coupon_code",
    "priority", "store", "external_id", ...}``: place an order directly (phone orders,
    marketplace imports)."""
    body = ctx.body_object()
    sys = ctx.system
    lines = order_lines(sys, body.get("lines"))
    values = {k: body[k] for k in ("priority", "external_id", "ship_to_name", "ship_to_phone",
                                    "ship_to_address", "notes") if body.get(k) is not None}
    store = lookup(sys, "store", body["store"]) if body.get("store") else None
    order = place(ctx.records, channel=channel_for(sys, body.get("channel")),
                         customer=lookup(sys, "customer", body.get("customer")), lines=lines,
                         coupon_code=body.get("coupon_code"), values=values, store=store)
    return api.Reply(order, 201)


@api.endpoint("orders/allocate", roles=STAFF, request=S.STAFF_ORDER, response=S.ORDER,
              status=200, errors=(403, 409, 422))
def staff_allocate(ctx: api.EndpointContext) -> dict[str, Any]:
    """Staff: ``{"order"}``: the goods are picked (paid → allocated)."""
    _, order = _order(ctx)
    return move_status(ctx.records, order, "allocate")


@api.endpoint("orders/ship", roles=STAFF, request=S.STAFF_SHIP, response=S.ORDER,
              status=200, errors=(403, 409, 422))
def staff_ship(ctx: api.EndpointContext) -> dict[str, Any]:
    """Staff: ``{"order", "carrier": "sf", "tracking_no"}`` (both required): ship it
    (stock leaves). The same as ``POST /api/v1/sales_order/<id>/actions/ship``."""
    body, order = _order(ctx)
    return ship(ctx.records, order, body.get("carrier"), body.get("tracking_no"))


@api.endpoint("orders/complete", roles=STAFF, request=S.STAFF_ORDER, response=S.ORDER,
              status=200, errors=(403, 409, 422))
def staff_complete(ctx: api.EndpointContext) -> dict[str, Any]:
    """Staff: ``{"order"}``: delivered (shipped → completed)."""
    _, order = _order(ctx)
    return move_status(ctx.records, order, "complete")


@api.endpoint("orders/cancel_any", roles=STAFF, request=S.STAFF_CANCEL, response=S.ORDER,
              status=200, errors=(403, 409, 422))
def staff_cancel(ctx: api.EndpointContext) -> dict[str, Any]:
    """Staff: ``{"order", "reason"}``: cancel any order not yet shipped."""
    body, order = _order(ctx)
    return cancel(ctx.records, order, str(body.get("reason") or "cancelled by staff"))


@api.endpoint("stock/allocate", roles=["Shop Manager", "Stock Manager"],
              request=S.RUN_ALLOCATION, response=S.ALLOCATED, status=200,
              errors=(409, 422))
def run_allocation(ctx: api.EndpointContext) -> dict[str, Any]:
    """Staff: bring every channel's stock allocation to its rule now."""
    body = ctx.body_object()
    warehouse = lookup(ctx.system, "warehouse", body["warehouse"])["id"] \
        if body.get("warehouse") else None
    return {"changes": allocate(ctx.records, warehouse)}


@api.endpoint("catalogue/products", methods=["GET"], auth="public",
              request=S.PRODUCTS_QUERY, response=S.PRODUCTS, errors=(404, 422),
              cache_seconds=5)  # as fresh as the storefront pages (FRESH)
def products(ctx: api.EndpointContext) -> dict[str, Any]:
    """Products on sale in a channel (``?channel=CODE&category=CODE&q=text&after=...``)."""
    return listed_products(ctx.system, ctx.args)


@api.endpoint("catalogue/product", methods=["GET"], auth="public",
              request=S.PRODUCT_QUERY, response=S.PRODUCT, errors=(404, 422),
              cache_seconds=5)  # as fresh as the storefront pages (FRESH)
def product(ctx: api.EndpointContext) -> dict[str, Any]:
    """``?code=P-0001&channel=CODE``: a listed product with its SKUs, prices and stock."""
    return product_detail(ctx.system, ctx.args)
