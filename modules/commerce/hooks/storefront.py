"""The storefront: mobile-first pages at ``/p/commerce/...`` for the online and WeChat
malls (``?channel=WECHAT``), on the same catalogue, prices and stock as everything else.

Public pages (home, category, search, product) read as the Guest role
(permissions/storefront.yaml) and are cached for a few seconds for visitors who are not
signed in, so a price or a stock figure is never more than ``FRESH`` seconds old. They
show nothing personal; the cart, checkout and order pages are the signed-in customer's
own and use the same functions as the cart and order endpoints. The pages' script
(static/storefront.js) calls those endpoints; templates are in templates/storefront/.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from yiti import api

from .catalogue import listed_products
from .checkout import customer_of, order_lines
from .checkout import my_order as find_my_order
from .common import find_channel
from .endpoints import get_cart, my_orders
from .quotes import is_active, quote, quote_json

#: Seconds a public page may be kept: stock and prices on it are at most this old.
FRESH = 5
CHANNEL_KINDS = ("online_mall", "wechat_mall")


def money(value: Any) -> str:
    """``¥1,299.00``; empty for None."""
    return "" if value is None else f"¥{Decimal(value):,.2f}"


def _guest(ctx: api.PageContext) -> api.Records:
    """The catalogue as anyone may see it (also on a customer's own pages)."""
    return ctx.site.records(api.GUEST)


def _channel(ctx: api.PageContext) -> dict[str, Any]:
    """The channel of the page (``?channel=CODE``; the online mall without one)."""
    try:
        channel = find_channel(_guest(ctx), ctx.args.get("channel"))
    except api.ValidationError:
        raise api.NotFound(api.message("no channel %(channel)s",
                                       channel=repr(ctx.args.get("channel")))) from None
    if channel["status"] != "active" or channel["kind"] not in CHANNEL_KINDS:
        raise api.NotFound(api.message("channel %(channel)s has no storefront",
                                       channel=channel["code"]))
    return channel


def _shell(ctx: api.PageContext, channel: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What every storefront page shows: channels to switch, top categories, helpers."""
    r = _guest(ctx)
    channels = r.list("channel", filters=[("status", "=", "active"),
                                          ("kind", "in", list(CHANNEL_KINDS))],
                      sort=["code"], fields=["code", "title", "kind"], limit=10).rows
    categories = r.list("product_category", filters=[("parent", "is null", None)],
                        sort=["sort_order", "code"], fields=["code", "title"], limit=30).rows
    q = {"channel": None if channel["code"] == channels[0]["code"] else channel["code"]} \
        if channels else {}
    return {"channel": channel, "channels": channels, "categories": categories,
            "money": money, "chq": q, **extra}


def _promotions(ctx: api.PageContext, channel: dict[str, Any]) -> list[dict[str, Any]]:
    """Promotions running now in the channel (flash sales first), with their SKU codes."""
    at = ctx.now()
    rows = [p for p in ctx.records.list("promotion", filters=[("active", "=", True),
                                                              ("requires_coupon", "=", False)],
                                        sort=["priority", "code"], limit=100).rows
            if is_active(p, at, "starts_at", "ends_at") and p["channel"] in (None, channel["id"])]
    rows.sort(key=lambda p: (p["kind"] != "flash_sale", p["priority"] or 100, p["code"]))
    skus = {s["id"]: s for s in ctx.records.list(
        "sku", filters=[("id", "in", [p["sku"] for p in rows if p["sku"]] or [0])],
        fields=["id", "code", "product.code"], limit=100).rows}
    for p in rows:
        sku = skus.get(p["sku"])
        p["sku_code"], p["product_code"] = (sku["code"], sku["product.code"]) if sku \
            else (None, None)
    return rows


def _with_prices(ctx: api.PageContext, channel: dict[str, Any], products: list[dict]
                 ) -> list[dict]:
    """Each listed product with its lowest channel price (``from ¥...``)."""
    if not products:
        return products
    r = ctx.records
    skus = r.list("sku", filters=[("product.code", "in", [p["code"] for p in products]),
                                  ("active", "=", True)],
                  fields=["id", "product.code", "list_price"], limit=500).rows
    prices = {row["sku"]: row["price"] for row in r.list(
        "channel_price", filters=[("channel", "=", channel["id"]),
                                  ("sku", "in", [s["id"] for s in skus] or [0])],
        fields=["sku", "price"], limit=500).rows}
    lowest: dict[str, Decimal] = {}
    for s in skus:
        price = prices.get(s["id"]) or s["list_price"]
        if price is not None:
            code = s["product.code"]
            lowest[code] = min(lowest.get(code, price), price)
    return [{**p, "price": lowest.get(p["code"], p["list_price"])} for p in products]


def _listing(ctx: api.PageContext, channel: dict[str, Any], **filters: str) -> dict:
    args = {"channel": channel["code"], "after": ctx.args.get("after") or "", **filters}
    page = listed_products(ctx.records, args)
    page["data"] = _with_prices(ctx, channel, page["data"])
    return page


@api.page("", cache_seconds=FRESH)
def shop_home(ctx: api.PageContext) -> api.Rendered:
    """Banners (flash sales and promotions running now), categories, products."""
    channel = _channel(ctx)
    return api.render("storefront/home.html", **_shell(
        ctx, channel, promotions=_promotions(ctx, channel), page=_listing(ctx, channel)))


@api.page("category/<code>", cache_seconds=FRESH)
def shop_category(ctx: api.PageContext) -> api.Rendered:
    """The products of a category and its sub-categories to go on to."""
    channel = _channel(ctx)
    rows = ctx.records.list("product_category", filters=[
        ("code", "=", ctx.params["code"])], limit=1).rows
    if not rows:
        raise api.NotFound(api.message("no category %(category)s",
                                       category=repr(ctx.params["code"])))
    children = ctx.records.list("product_category", filters=[("parent", "=", rows[0]["id"])],
                                sort=["sort_order", "code"], fields=["code", "title"],
                                limit=50).rows
    return api.render("storefront/category.html", **_shell(
        ctx, channel, category=rows[0], children=children,
        page=_listing(ctx, channel, category=rows[0]["code"])))


@api.page("search", cache_seconds=FRESH)
def shop_search(ctx: api.PageContext) -> api.Rendered:
    """Products whose title contains ``?q=``."""
    channel = _channel(ctx)
    q = (ctx.args.get("q") or "").strip()[:60]
    page = _listing(ctx, channel, q=q) if q else {"data": [], "next": None}
    return api.render("storefront/search.html", **_shell(ctx, channel, q=q, page=page))


def _product(ctx: api.PageContext, channel: dict[str, Any], code: str) -> dict[str, Any]:
    """A product listed in ``channel`` with its SKUs: the channel price and what the
    channel can still sell (its allocation plus the warehouse's unallocated stock)."""
    r = ctx.records
    found = r.list("product", filters=[("code", "=", code), ("status", "=", "active")],
                   fields=["id"], limit=1).rows
    listed = found and r.count("channel_listing", filters=[
        ("channel", "=", channel["id"]), ("product", "=", found[0]["id"]),
        ("status", "=", "listed")]).value
    if not listed:
        raise api.NotFound(api.message("no product %(product)s on sale in %(channel)s",
                                       product=repr(code), channel=channel["title"]))
    product = r.get("product", found[0]["id"])
    skus = r.list("sku", filters=[("product", "=", product["id"]), ("active", "=", True)],
                  sort=["code"], limit=200).rows
    ids = [s["id"] for s in skus] or [0]
    prices = {x["sku"]: x["price"] for x in r.list("channel_price", filters=[
        ("channel", "=", channel["id"]), ("sku", "in", ids)], limit=200).rows}
    free = {x["sku"]: x["free"] for x in r.list("stock_level", filters=[
        ("warehouse", "=", channel["warehouse"]), ("sku", "in", ids)], limit=200).rows}
    quota = {x["sku"]: x["available"] for x in r.list("channel_stock", filters=[
        ("warehouse", "=", channel["warehouse"]), ("channel", "=", channel["id"]),
        ("sku", "in", ids)], limit=200).rows}
    targets = {x["id"]: x["code"] for x in r.list("product", filters=[
        ("id", "in", [x["target"] for x in product["related"]] or [0])],
        fields=["id", "code"], limit=50).rows}
    return {
        "code": product["code"], "title": product["title"],
        "description": product["description"],
        "related": [{"kind": x["kind"], "product": targets[x["target"]], "price": x["price"]}
                    for x in product["related"] if x["target"] in targets],
        "skus": [{"code": s["code"], "title": s["title"], "colour": s["colour"],
                  "size": s["size"], "list_price": s["list_price"] or product["list_price"],
                  "price": prices.get(s["id"], s["list_price"] or product["list_price"]),
                  "available": max(free.get(s["id"], 0), 0) + quota.get(s["id"], 0)}
                 for s in skus]}


@api.page("product/<code>", cache_seconds=FRESH)
def shop_product(ctx: api.PageContext) -> api.Rendered:
    """A product: each SKU's channel price, flash price if on sale, what the channel can
    still sell, and the related products (cross-sell, up-sell)."""
    channel = _channel(ctx)
    detail = _product(ctx, channel, ctx.params["code"])
    flash = {p["sku_code"]: p for p in _promotions(ctx, channel)
             if p["kind"] == "flash_sale" and p["sku_code"]}
    for sku in detail["skus"]:
        sale = flash.get(sku["code"])
        sku["flash"] = sale if sale and (sale["remaining_qty"] or 0) > 0 else None
    titles = {row["code"]: row["title"] for row in ctx.records.list(
        "product", filters=[("code", "in", [r["product"] for r in detail["related"]] or [""])],
        fields=["code", "title"], limit=50).rows}
    related = [{**r, "title": titles.get(r["product"], r["product"])}
               for r in detail["related"]]
    return api.render("storefront/product.html", **_shell(
        ctx, channel, product=detail, related=related))


# -- the customer's own pages (never cached) ----------------------------------------------

def _mine(ctx: api.PageContext) -> dict[str, Any]:
    channel = _channel(ctx)
    return _shell(ctx, channel, customer=customer_of(ctx))


@api.page("cart", auth="user", roles=["Customer"])
def shop_cart(ctx: api.PageContext) -> api.Rendered:
    """The open cart with its quote (the cart endpoint's answer)."""
    shell = _mine(ctx)
    ctx.args = {**ctx.args, "channel": shell["channel"]["code"]}
    return api.render("storefront/cart.html", **shell, cart=get_cart(ctx))


@api.page("checkout", auth="user", roles=["Customer"])
def shop_checkout(ctx: api.PageContext) -> api.Rendered:
    """The cart's total and where to ship; the script places the order and starts
    paying (one Idempotency-Key per page, so a double tap places one order). With
    ``?sku=CODE`` (a product page's *Buy now*): one unit of that SKU instead of the cart,
    which is left as it is."""
    shell = _mine(ctx)
    code = (ctx.args.get("sku") or "").strip()
    if code:
        cart = _buy_now(ctx, shell["channel"], shell["customer"], code)
    else:
        ctx.args = {**ctx.args, "channel": shell["channel"]["code"]}
        cart = get_cart(ctx)
    return api.render("storefront/checkout.html", **shell, cart=cart, buy_now=code,
                      idempotency_key=uuid.uuid4().hex)


def _buy_now(ctx: api.PageContext, channel: dict[str, Any], customer: dict[str, Any],
             code: str) -> dict[str, Any]:
    """The checkout page's lines and quote for one unit of SKU ``code`` bought now."""
    sys = ctx.system
    try:
        lines = order_lines(sys, [{"sku": code}])
    except api.ValidationError:
        raise api.NotFound(api.message("no SKU %(sku)s", sku=repr(code[:60]))) from None
    priced = quote(sys, channel=channel, customer=customer, lines=lines, coupon_code=None,
                   at=ctx.now())
    return {"lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
            "quote": quote_json(priced)}


@api.page("orders", auth="user", roles=["Customer"])
def shop_orders(ctx: api.PageContext) -> api.Rendered:
    """The customer's orders, newest first."""
    return api.render("storefront/orders.html", **_mine(ctx), orders=my_orders(ctx)["data"])


@api.page("order/<name>", auth="user", roles=["Customer"])
def shop_order(ctx: api.PageContext) -> api.Rendered:
    """One order of the customer: its status, lines, promotions and payments."""
    shell = _mine(ctx)
    found = find_my_order(ctx, ctx.params["name"])
    payments = ctx.records.list("payment", filters=[("sales_order", "=", found["id"])],
                                sort=["-id"], limit=20).rows
    due = found["reserved_until"]
    if due is not None and due.tzinfo is None:
        due = due.replace(tzinfo=dt.UTC)
    return api.render("storefront/order.html", **shell, order=found, payments=payments,
                      due=due)
