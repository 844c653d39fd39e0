"""A small shop for the storefront tests: the online and WeChat malls on one warehouse,
a category tree, three products (a shirt with a flash sale, tea, shoes with an up-sell),
stock, and customers who are users with the Customer role.

The fixtures are here, not in a conftest.py, because other test folders import their
own ``conftest`` by that name; test modules import the fixtures they use from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.fixtures import load_fixtures
from yiti.jobs import FakeClock, JobSettings, install
from yiti.permissions import users
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app

START = dt.datetime(2026, 11, 11, 0, 0, tzinfo=dt.UTC)
PASSWORD = "shopper-password-1"


def make_site(url: str, tmp_path: Path) -> Site:
    register_kind(PERMISSIONS)
    site = Site(settings_for(url, tmp_path, modules=[PROJECT_ROOT / "modules"],
                             packs=["commerce"]))
    site.migrate()
    install(site, settings=JobSettings(retry_delay=0.01), clock=FakeClock(START))
    load_fixtures(site)  # units (no demo data)
    return site


def build_shop(site: Site, stock: int = 50, flash_qty: int = 100) -> dict[str, Any]:
    r = site.records()
    ids: dict[str, Any] = {}
    ids["WH"] = r.create("warehouse", {"code": "WH", "title": "Main", "manager": "keeper"})["id"]
    r.create("shipping_class", {"code": "STD", "title": "Standard", "base_fee": "8.00",
                                "free_over": "99.00"})
    for code, kind, title in (("ONLINE", "online_mall", "Yiti Mall"),
                              ("WECHAT", "wechat_mall", "WeChat Mall")):
        ids[code] = r.create("channel", {"code": code, "title": title, "kind": kind,
                                         "warehouse": ids["WH"],
                                         "reservation_minutes": 30})["id"]
    ids["APPAREL"] = r.create("product_category", {"code": "APPAREL", "title": "Apparel"})["id"]
    ids["TOPS"] = r.create("product_category", {"code": "TOPS", "title": "Tops",
                                                "parent": ids["APPAREL"]})["id"]
    ids["TEA"] = r.create("product_category", {"code": "TEA", "title": "Tea"})["id"]
    for code, category, price, title in (("SHIRT", "TOPS", "100.00", "Silk shirt"),
                                         ("TEA", "TEA", "60.00", "Longjing tea"),
                                         ("SHOE", "APPAREL", "150.00", "Running shoe")):
        product = r.create("product", {"code": code, "title": title, "list_price": price,
                                       "category": ids[category],
                                       "shipping_class": {"code": "STD"}})
        sku = r.create("sku", {"code": f"{code}-1", "product": product["id"],
                               "title": f"{title} (one size)", "cost_price": "12.34"})
        ids[code], ids[f"{code}-1"] = product["id"], sku["id"]
        for channel in ("ONLINE", "WECHAT"):
            r.create("channel_listing", {"channel": ids[channel], "product": product["id"]})
    r.create("channel_price", {"channel": ids["WECHAT"], "sku": ids["TEA-1"], "price": "55.00"})
    r.update("product", ids["SHOE"], {"related": [
        {"kind": "up_sell", "target": ids["SHIRT"], "price": "95.00"}]})
    entry = r.create("stock_entry", {"warehouse": ids["WH"], "lines": [
        {"sku": ids[f"{c}-1"], "qty": stock, "unit_cost": "10.00"}
        for c in ("SHIRT", "TEA", "SHOE")]})
    r.submit("stock_entry", entry["id"])
    r.create("promotion", {"code": "FLASH11", "title": "Double 11 shirt", "kind": "flash_sale",
                           "scope": "sku", "sku": ids["SHIRT-1"], "flash_price": "49.00",
                           "per_customer_limit": 1, "total_qty": flash_qty})
    r.create("promotion", {"code": "SAVE30", "title": "Spend 200 save 30", "kind": "threshold",
                           "scope": "all", "threshold": "200.00", "amount": "30.00"})
    return ids



@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = make_site(db_url, tmp_path)
    yield site
    site.close()


@pytest.fixture
def shop(site: Site) -> dict[str, Any]:
    return build_shop(site)


@pytest.fixture
def client(site: Site, shop: dict[str, Any]) -> FlaskClient:
    return create_app(site=site).test_client()

def add_customer(site: Site, code: str) -> str:
    """A customer ``code`` who signs in as user ``code.lower()``; returns the user name."""
    name = code.lower()
    site.records().create("customer", {"code": code, "full_name": f"Customer {code}",
                                       "user": name, "phone": "13800000000",
                                       "address": "1 Nanjing Road, Shanghai"})
    users.create_user(site, name, PASSWORD, roles=["Customer"], attributes={"customer": code})
    return name


def sign_in(client: FlaskClient, name: str) -> str:
    """Sign ``name`` in through the sign-in page; the session's CSRF token."""
    page = client.get("/auth/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post("/auth/login", data={"name": name, "password": PASSWORD,
                                            "csrf_token": token})
    assert done.status_code == 302, done.text
    return client.get("/api/v1/_me").json["csrf_token"]


def invariants(site: Site, *, flash_sku: int, warehouse: int, flash_stock: int,
               accepted: list[str], sold_out: bool = True) -> list[str]:
    """What must hold after any number of concurrent checkouts; the problems found.

    The flash SKU sold exactly its stock (not more than it, when ``sold_out`` is false:
    fewer buyers than units); no stock figure is negative; every accepted
    order has its lines, a payment and a stock move per line; the ledger sums to the
    stock levels (on hand and reserved) of every SKU.
    """
    from sqlalchemy import func, select

    t = site.tables
    level, move, order = t["stock_level"], t["stock_move"], t["sales_order"]
    line, payment = t["sales_order_line"], t["payment"]
    problems: list[str] = []
    with site.engine.connect() as conn:
        sold = conn.execute(select(func.coalesce(func.sum(line.c.qty), 0)).join(
            order, order.c.id == line.c.parent_id).where(
            line.c.sku == flash_sku, order.c.status != "cancelled")).scalar_one()
        if sold > flash_stock or (sold_out and sold != flash_stock):
            problems.append(f"the flash SKU sold {sold}, its stock was {flash_stock}")
        row = conn.execute(select(level).where(level.c.sku == flash_sku,
                                               level.c.warehouse == warehouse)).mappings().one()
        if row["available"] != flash_stock - sold or row["reserved"] != sold:
            problems.append(f"the flash SKU's level: available {row['available']}, "
                            f"reserved {row['reserved']} after selling {sold}")
        for name in ("on_hand", "reserved", "available", "free"):
            n = conn.execute(select(func.count()).where(level.c[name] < 0)).scalar_one()
            if n:
                problems.append(f"{n} stock levels have a negative {name}")
        ids = dict(conn.execute(select(order.c.name, order.c.id).where(
            order.c.name.in_(accepted))).all()) if accepted else {}
        if len(ids) != len(set(accepted)):
            problems.append(f"{len(set(accepted)) - len(ids)} accepted orders are missing")
        lines = dict(conn.execute(select(line.c.parent_id, func.count()).group_by(
            line.c.parent_id)).all())
        paid = dict(conn.execute(select(payment.c.sales_order, func.count()).group_by(
            payment.c.sales_order)).all())
        moves = dict(conn.execute(select(move.c.sales_order, func.count()).where(
            move.c.kind == "reserve").group_by(move.c.sales_order)).all())
        for name, ident in ids.items():
            if not lines.get(ident):
                problems.append(f"order {name} has no lines")
            elif moves.get(ident, 0) < lines[ident]:
                problems.append(f"order {name} has {moves.get(ident, 0)} reserve moves "
                                f"for {lines[ident]} lines")
            if not paid.get(ident):
                problems.append(f"order {name} has no payment")
        sums = {(r.sku, r.warehouse): (r.on_hand, r.reserved) for r in conn.execute(
            select(move.c.sku, move.c.warehouse, func.sum(move.c.on_hand_change).label("on_hand"),
                   func.sum(move.c.reserved_change).label("reserved")).group_by(
                move.c.sku, move.c.warehouse))}
        for r in conn.execute(select(level)).mappings():
            if sums.get((r["sku"], r["warehouse"]), (0, 0)) != (r["on_hand"], r["reserved"]):
                problems.append(f"the ledger of SKU {r['sku']} sums to "
                                f"{sums.get((r['sku'], r['warehouse']))}, the level is "
                                f"{(r['on_hand'], r['reserved'])}")
            if r["available"] != r["on_hand"] - r["reserved"]:
                problems.append(f"SKU {r['sku']}: available is not on hand - reserved")
    return problems
