"""The demo shop for ``yiti demo``: 200+ products, stock in 3 warehouses, 4 channels,
customers, a flash sale and a month of orders, generated the same way on every machine.

The fixed records (warehouses, channels, stores, categories, brands, promotions, coupons)
are fixture files; this builds what is too large for them, through the same services
the shop uses (receipts post to the ledger, orders are priced and reserve stock).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from yiti import api

from .common import all_rows, first, now
from .orders import cancel, move_status, place, ship

PRODUCTS = 210
CUSTOMERS = 120
ORDERS = 180
FAMILIES = {  # category: (names, price range, colours, sizes, brand, shipping class)
    "TOPS": (["T恤", "衬衫", "卫衣", "针织衫", "Polo衫"], (59, 399),
             ["白", "黑", "蓝"], ["M", "L"], "YITI", "STD"),
    "BOTTOMS": (["牛仔裤", "休闲裤", "运动裤", "短裤"], (79, 459), ["黑", "卡其"],
                ["30", "32"], "HUAYANG", "STD"),
    "SHOES": (["跑鞋", "板鞋", "皮鞋", "拖鞋"], (99, 899), ["白"], ["40", "42", "44"],
              "NORDLYS", "STD"),
    "KITCHEN": (["炒锅", "刀具套装", "保温杯", "砧板"], (39, 699), [], [], "SAKURA", "STD"),
    "BEDDING": (["四件套", "羽绒被", "乳胶枕"], (129, 1599), [], [], "NORDLYS", "BULKY"),
    "ELECTRONICS": (["蓝牙耳机", "充电宝", "智能手环", "机械键盘"], (99, 999), [], [],
                    "YITI", "STD"),
    "TEA": (["西湖龙井", "铁观音", "普洱", "大红袍"], (68, 588), [], [], "LONGJING", "STD"),
}


@api.demo_data
def demo_shop(ctx: api.DemoContext) -> int:
    """Build the demo shop once; a second run creates nothing."""
    records = ctx.records
    if records.count("product").value >= PRODUCTS:
        return 0
    rng = random.Random(2026)
    ids = {e: {r["code"]: r["id"] for r in all_rows(records, e)}
           for e in ("product_category", "brand", "shipping_class", "channel", "warehouse",
                     "unit")}
    created = _allocation_rules(records, ids)
    skus, n = _catalogue(records, rng, ids)
    created += n
    created += _stock(records, rng, ids, skus)
    customers, n = _customers(records, rng)
    created += n
    created += _flash_sale(records, skus)
    created += _orders(records, rng, ids, skus, customers)
    return created


def _allocation_rules(records: api.Records, ids: dict) -> int:
    rules = [{"channel": ids["channel"]["TMALL"], "warehouse": ids["warehouse"]["WH-SH"],
              "mode": "share", "share": "20"},
             {"channel": ids["channel"]["WECHAT"], "warehouse": ids["warehouse"]["WH-SH"],
              "mode": "fixed", "quantity": 5}]
    new = [r for r in rules if not first(records, "stock_allocation", [
        ("channel", "=", r["channel"]), ("warehouse", "=", r["warehouse"])])]
    if new:
        records.create_many("stock_allocation", new)
    return len(new)


def _catalogue(records: api.Records, rng: random.Random, ids: dict
               ) -> tuple[list[dict[str, Any]], int]:
    products, families_of, skus = [], [], []
    families = list(FAMILIES.items())
    for i in range(PRODUCTS):
        category, (names, (low, high), _c, _s, brand, ship) = families[i % len(families)]
        price = Decimal(rng.randrange(low, high)) + Decimal("0.90")
        families_of.append(category)
        products.append({
            "code": f"P-{i + 1:04d}", "title": f"{rng.choice(names)} {i + 1:03d}",
            "category": ids["product_category"][category], "brand": ids["brand"][brand],
            "unit": ids["unit"]["PCS"], "list_price": price, "shipping_class":
            ids["shipping_class"][ship], "weight_kg": Decimal(rng.randrange(100, 3000)) / 1000,
            "length_cm": 30, "width_cm": 20, "height_cm": 10})
    product_ids = records.create_many("product", products)
    for product, pid, family in zip(products, product_ids, families_of, strict=True):
        colours, sizes = FAMILIES[family][2], FAMILIES[family][3]
        colours = colours[: 1 + rng.randrange(2)]
        variants = [(c, z) for c in colours for z in sizes] or [(None, None)]
        for j, (colour, size) in enumerate(variants):
            code = "-".join(x for x in (product["code"], _COLOURS.get(colour or ""), size) if x)
            skus.append({"code": code if colour else f"{code}-STD", "product": pid,
                         "colour": colour, "size": size,
                         "title": " ".join(x for x in (product["title"], colour, size) if x),
                         "barcode": f"69{pid:05d}{j:02d}{rng.randrange(100):03d}",
                         "member_price": (product["list_price"] * Decimal("0.95")).quantize(
                             Decimal("0.01")) if j == 0 else None,
                         "cost_price": (product["list_price"] * Decimal("0.45")).quantize(
                             Decimal("0.01"))})
    sku_ids = records.create_many("sku", skus)
    for sku, sid in zip(skus, sku_ids, strict=True):
        sku["id"] = sid
    channels = ids["channel"]
    listings = [{"channel": cid, "product": pid,
                 "status": "delisted" if code == "TMALL" and k % 20 == 7 else "listed"}
                for k, pid in enumerate(product_ids) for code, cid in channels.items()]
    records.create_many("channel_listing", listings)
    prices = [{"channel": channels["TMALL"], "sku": sku["id"],
               "price": (products[product_ids.index(sku["product"])]["list_price"]
                         * Decimal("0.92")).quantize(Decimal("0.01"))}
              for k, sku in enumerate(skus) if k % 3 == 0]
    records.create_many("channel_price", prices)
    return skus, len(products) + len(skus) + len(listings) + len(prices)


_COLOURS = {"白": "WHT", "黑": "BLK", "蓝": "BLU", "卡其": "KHK"}


def _stock(records: api.Records, rng: random.Random, ids: dict, skus: list[dict]) -> int:
    """One receipt per warehouse, submitted: the ledger and levels follow."""
    created = 0
    for code, share in (("WH-SH", 1.0), ("WH-GZ", 0.6), ("WH-BJ", 0.3)):
        lines = [{"sku": sku["id"], "qty": max(1, int(rng.randrange(10, 120) * share)),
                  "unit_cost": sku["cost_price"]} for sku in skus]
        entry = records.create("stock_entry", {
            "kind": "receipt", "warehouse": ids["warehouse"][code],
            "supplier": "华东供应链有限公司", "lines": lines})
        records.submit("stock_entry", entry["id"])
        created += 1 + len(lines)
    levels = all_rows(records, "stock_level", fields=["id"])
    for row in levels[::9]:  # a few SKUs watched closely
        records.update("stock_level", row["id"], {"reorder_level": 60})
    return created


def _customers(records: api.Records, rng: random.Random) -> tuple[list[dict], int]:
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
    given = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超"]
    cities = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉"]
    rows = [{"code": f"C-{i + 1:04d}", "full_name": rng.choice(surnames) + rng.choice(given)
             + (rng.choice(given) if i % 2 else ""),
             "member_level": rng.choice(["regular"] * 6 + ["silver", "gold", "vip"]),
             "phone": f"13{rng.randrange(10**8, 10**9)}", "city": rng.choice(cities)}
            for i in range(CUSTOMERS)]
    rows[0].update({"code": "C-DEMO", "full_name": "演示顾客", "user": "admin",
                    "member_level": "gold"})
    ident = records.create_many("customer", rows)
    for row, i in zip(rows, ident, strict=True):
        row["id"] = i
    return rows, len(rows)


def _flash_sale(records: api.Records, skus: list[dict]) -> int:
    at = now(records)
    records.create("promotion", {
        "code": "FLASH-1111", "title": "双11秒杀：跑鞋", "kind": "flash_sale", "scope": "sku",
        "sku": skus[10]["id"], "flash_price": "99.00", "per_customer_limit": 2,
        "total_qty": 50, "starts_at": at - dt.timedelta(days=1),
        "ends_at": at + dt.timedelta(days=14), "priority": 1})
    return 1


def _orders(records: api.Records, rng: random.Random, ids: dict, skus: list[dict],
            customers: list[dict]) -> int:
    """A month of orders: most paid and shipped, some cancelled, the last day's open."""
    end = now(records).replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(days=30)
    channels = {c["code"]: c for c in all_rows(records, "channel")}
    weights = [("ONLINE", 4), ("WECHAT", 2), ("TMALL", 3), ("STORES", 1)]
    choices = [code for code, w in weights for _ in range(w)]
    carriers = ["sf", "jd", "zto", "yto"]
    listed_tmall = {r["product"] for r in all_rows(records, "channel_listing", [
        ("channel", "=", channels["TMALL"]["id"]), ("status", "=", "listed")])}
    made = 0
    for k in range(ORDERS):
        at = start + dt.timedelta(minutes=k * (30 * 24 * 60 // ORDERS) + rng.randrange(60))
        channel = channels[rng.choice(choices)]
        pool = [s for s in skus[20:] if channel["code"] != "TMALL"
                or s["product"] in listed_tmall]
        lines = [(s["id"], rng.choice([1, 1, 1, 2, 3])) for s in rng.sample(
            pool, rng.choice([1, 1, 2, 3]))]
        customer = rng.choice(customers)
        try:
            order = place(records, channel=channel, customer=customer, lines=lines, at=at,
                          values={"priority": rng.choice(["normal"] * 8 + ["vip", "express"]),
                                  "ship_to_name": customer["full_name"],
                                  "ship_to_phone": customer["phone"],
                                  "ship_to_address": f"{customer['city']}市演示路{k + 1}号"})
        except api.ValidationError:
            continue  # sold out in that warehouse: a real shop refuses such orders too
        made += 1
        age = (end - at).days
        if k % 17 == 5:
            cancel(records, order, "customer changed their mind")
            continue
        if age < 1:
            continue  # today's orders wait for payment
        paid_at = at + dt.timedelta(minutes=rng.randrange(2, 25))
        payment = records.create("payment", {"sales_order": order["id"], "provider": "test",
                                             "amount": order["grand_total"]})
        records.transition("payment", payment["id"], {
            "status": "succeeded", "provider_txn": f"DEMO-{order['name']}",
            "paid_at": paid_at}, action="callback")
        order = move_status(records, order, "pay", {"paid_amount": order["grand_total"]},
                            at=paid_at)
        if age < 2:
            continue
        order = ship(records, order, rng.choice(carriers), f"SF{rng.randrange(10**11, 10**12)}",
                     at=at + dt.timedelta(days=1))
        if age > 7:
            move_status(records, order, "complete", at=at + dt.timedelta(days=4))
    return made
