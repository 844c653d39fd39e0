"""A commerce site with a small shop: 2 warehouses, 2 channels, 3 products, customers.

``shop`` holds ids by code; ``token(name, *roles, **attributes)`` gives a new user's API
token header; ``ann`` (customer ANN) and ``staff`` (an order clerk) are signed in.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.fixtures import load_fixtures
from yiti.jobs import FakeClock, JobSettings, install
from yiti.permissions import tokens, users
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app

START = __import__("datetime").datetime(2026, 11, 11, 0, 0, tzinfo=__import__("datetime").UTC)


def make_site(url: str, tmp_path: Path) -> Site:
    register_kind(PERMISSIONS)
    site = Site(settings_for(url, tmp_path, modules=[PROJECT_ROOT / "modules"],
                             packs=["commerce"]))
    site.migrate()
    install(site, settings=JobSettings(retry_delay=0.01), clock=FakeClock(START))
    load_fixtures(site)  # units (no demo data)
    return site


def build_shop(site: Site, stock: int = 50) -> dict[str, Any]:
    """Warehouses, channels, a category tree, products with SKUs, listings and stock."""
    r = site.records()
    ids: dict[str, Any] = {}
    for code in ("WH-A", "WH-B"):
        ids[code] = r.create("warehouse", {"code": code, "title": code, "manager": "keeper"})["id"]
    r.create("shipping_class", {"code": "STD", "title": "Standard", "base_fee": "8.00",
                                "free_over": "99.00"})
    for code, wh in (("ONLINE", "WH-A"), ("TMALL", "WH-A")):
        ids[code] = r.create("channel", {"code": code, "title": code, "warehouse": ids[wh],
                                         "kind": "online_mall" if code == "ONLINE"
                                         else "marketplace", "reservation_minutes": 30})["id"]
    ids["APPAREL"] = r.create("product_category", {"code": "APPAREL", "title": "Apparel"})["id"]
    ids["TOPS"] = r.create("product_category", {"code": "TOPS", "title": "Tops",
                                                "parent": ids["APPAREL"]})["id"]
    ids["TEA"] = r.create("product_category", {"code": "TEA", "title": "Tea"})["id"]
    for code, category, price in (("SHIRT", "TOPS", "100.00"), ("TEA", "TEA", "60.00"),
                                  ("SHOE", "APPAREL", "150.00")):
        product = r.create("product", {"code": code, "title": code.title(),
                                       "category": ids[category], "list_price": price,
                                       "shipping_class": {"code": "STD"}})
        sku = r.create("sku", {"code": f"{code}-1", "product": product["id"],
                               "member_price": "90.00" if code == "SHIRT" else None})
        ids[code], ids[f"{code}-1"] = product["id"], sku["id"]
        for channel in ("ONLINE", "TMALL"):
            r.create("channel_listing", {"channel": ids[channel], "product": product["id"]})
    entry = r.create("stock_entry", {"warehouse": ids["WH-A"], "lines": [
        {"sku": ids[f"{c}-1"], "qty": stock, "unit_cost": "10.00"}
        for c in ("SHIRT", "TEA", "SHOE")]})
    r.submit("stock_entry", entry["id"])
    for code, level, user in (("ANN", "regular", "ann"), ("VIP", "gold", "vip"),
                              ("BOB", "regular", "bob")):
        ids[code] = r.create("customer", {"code": code, "full_name": code.title(),
                                          "member_level": level, "user": user})["id"]
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
def client(site: Site) -> FlaskClient:
    return create_app(site=site).test_client()


def token_for(site: Site, name: str, *roles: str, **attributes: Any) -> dict[str, str]:
    """The API token header of a new user ``name`` holding ``roles``."""
    ident = users.create_user(site, name, f"{name}-password-1", roles=roles,
                              attributes=attributes)
    value, _ = tokens.create_token(site, ident, ("*",))
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def token(site: Site) -> Callable[..., dict[str, str]]:
    def make(name: str, *roles: str, **attributes: Any) -> dict[str, str]:
        return token_for(site, name, *roles, **attributes)

    return make


@pytest.fixture
def ann(token: Callable[..., dict[str, str]], shop: dict[str, Any]) -> dict[str, str]:
    """Customer ANN of the shop, signed in."""
    return token("ann", "Customer", customer="ANN")


@pytest.fixture
def staff(token: Callable[..., dict[str, str]], shop: dict[str, Any]) -> dict[str, str]:
    """An order clerk of the shop, signed in."""
    return token("olga", "Order Clerk")


def hooks() -> Any:
    """The commerce pack's hooks package (imported by the site)."""
    return sys.modules["yiti_packs.commerce.hooks"]


def level(site: Site, sku: int, warehouse: int) -> dict[str, Any]:
    return site.records().list("stock_level", filters=[("sku", "=", sku),
                                                        ("warehouse", "=", warehouse)]).rows[0]


def ledger_balances(site: Site) -> None:
    """Every stock level equals the sum of its ledger rows, and available = on hand -
    reserved = unallocated + every channel's allocation."""
    r = site.records()
    for row in r.list("stock_level", limit=1000).rows:
        moves = r.list("stock_move", filters=[("sku", "=", row["sku"]),
                                              ("warehouse", "=", row["warehouse"])],
                       limit=1000).rows
        assert sum(m["on_hand_change"] for m in moves) == row["on_hand"]
        assert sum(m["reserved_change"] for m in moves) == row["reserved"]
        assert row["available"] == row["on_hand"] - row["reserved"]
        quotas = r.list("channel_stock", filters=[("sku", "=", row["sku"]),
                                                  ("warehouse", "=", row["warehouse"])]).rows
        assert row["available"] == row["free"] + sum(q["available"] for q in quotas)
