"""Catalogue rules and the storefront's read endpoints: listings, promotion counters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yiti import api

from .common import first, lookup, now

PAGE = 24


@api.hook("channel_listing", "before_save")
def stamp_listing(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """Record when a product was listed (上架) or delisted (下架) in a channel."""
    old = ctx.old or {}
    if doc["status"] != old.get("status"):
        doc["listed_at" if doc["status"] == "listed" else "delisted_at"] = now(ctx.records)


@api.hook("promotion", "before_save")
def flash_sale_counter(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """A new flash sale starts with its whole quantity left; raising the total later adds
    the difference (the counter itself moves only by atomic adjustments)."""
    old = ctx.old or {}
    if doc["kind"] == "flash_sale" and doc.get("total_qty"):
        added = doc["total_qty"] - (old.get("total_qty") or 0)
        if added:
            doc["remaining_qty"] = max((old.get("remaining_qty") or 0) + added, 0)


@api.hook("coupon", "before_validate")
def coupon_counter(doc: dict[str, Any], ctx: api.HookContext) -> None:
    """A new coupon starts with all its uses left (as flash sales do)."""
    old = ctx.old or {}
    if doc.get("max_uses"):
        added = doc["max_uses"] - (old.get("max_uses") or 0)
        if added:
            doc["remaining_uses"] = max((old.get("remaining_uses") or 0) + added, 0)
    doc["code"] = (doc.get("code") or "").strip().upper()


def listed_products(sys: api.Records, args: Mapping[str, str]) -> dict[str, Any]:
    """A page of the products listed in a channel, with the channel's price range."""
    channel = _channel(sys, args.get("channel"))
    filters: list[Any] = [("channel", "=", channel["id"]), ("status", "=", "listed"),
                          ("product.status", "=", "active")]
    if args.get("category"):
        category = lookup(sys, "product_category", args["category"], param="category")
        filters.append(("product.category", "=", category["id"]))
    if args.get("q"):
        filters.append(("product.title", "like", f"%{args['q']}%"))
    page = sys.list("channel_listing", filters=filters, sort=["product"], limit=PAGE,
                    after_cursor=args.get("after") or None,
                    fields=["product", "product.code", "product.title", "product.list_price",
                            "product.category", "product.image"])
    return {"channel": channel["code"], "next": page.next, "data": [
        {"code": row["product.code"], "title": row["product.title"],
         "list_price": row["product.list_price"], "category": row["product.category"],
         "image": row["product.image"]} for row in page.rows]}


def product_detail(sys: api.Records, args: Mapping[str, str]) -> dict[str, Any]:
    """A product listed in a channel: its SKUs with the channel price and what the
    channel can still sell (its allocation plus unallocated stock, in its warehouse)."""
    channel = _channel(sys, args.get("channel"))
    product = first(sys, "product", [("code", "=", str(args.get("code") or ""))])
    listed = product and first(sys, "channel_listing", [
        ("channel", "=", channel["id"]), ("product", "=", product["id"]),
        ("status", "=", "listed")])
    if not listed:
        raise api.NotFound(api.message("no product %(product)s on sale in %(channel)s",
                                       product=repr(args.get("code")), channel=channel["code"]))
    product = sys.get("product", product["id"])  # with its images and related products
    skus = sys.list("sku", filters=[("product", "=", product["id"]), ("active", "=", True)],
                    sort=["code"], limit=200).rows
    ids = [s["id"] for s in skus] or [0]
    prices = {r["sku"]: r["price"] for r in sys.list("channel_price", filters=[
        ("channel", "=", channel["id"]), ("sku", "in", ids)], limit=200).rows}
    free = {r["sku"]: r["free"] for r in sys.list("stock_level", filters=[
        ("warehouse", "=", channel["warehouse"]), ("sku", "in", ids)], limit=200).rows}
    quota = {r["sku"]: r["available"] for r in sys.list("channel_stock", filters=[
        ("warehouse", "=", channel["warehouse"]), ("channel", "=", channel["id"]),
        ("sku", "in", ids)], limit=200).rows}
    related = [{"kind": r["kind"], "product": sys.get("product", r["target"])["code"],
                "price": r["price"]} for r in product["related"]]
    return {
        "code": product["code"], "title": product["title"],
        "description": product["description"], "image": product["image"],
        "images": [i["image"] for i in product["images"]], "related": related,
        "skus": [{"code": s["code"], "title": s["title"], "colour": s["colour"],
                  "size": s["size"], "list_price": s["list_price"] or product["list_price"],
                  "price": prices.get(s["id"], s["list_price"] or product["list_price"]),
                  "member_price": s["member_price"],
                  "available": free.get(s["id"], 0) + quota.get(s["id"], 0)}
                 for s in skus]}


def _channel(sys: api.Records, code: str | None) -> dict[str, Any]:
    from .checkout import channel_for

    channel = channel_for(sys, code)
    if channel["status"] != "active":
        raise api.NotFound(api.message("channel %(channel)s is not selling now",
                                       channel=channel["code"]))
    return channel
