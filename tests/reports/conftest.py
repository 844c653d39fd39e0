"""A shop site (customers, products, sales with lines) filled with known data.

The rows inserted are kept in Python (:class:`Shop`) so every test can compute what a
report must say on its own: the independent oracle the report engine is checked against.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from yiti.definitions import register_kind
from yiti.permissions import users
from yiti.permissions.kind import PERMISSIONS
from yiti.permissions.policy import Actor
from yiti.reports.kind import DASHBOARDS, REPORTS
from yiti.site import Site
from yiti.testing import postgres_url, settings_for, temporary_database

PACKS = Path(__file__).parent / "packs"
UTC = dt.UTC
REPS = ["ann", "bob"]
CHANNELS = ["mall", "store", "wechat"]
CATEGORIES = ["food", "toys", "books"]


@pytest.fixture(autouse=True)
def kinds() -> None:
    """Other suites may unregister kinds: ours again, before any site loads."""
    register_kind(PERMISSIONS)
    register_kind(REPORTS)
    register_kind(DASHBOARDS)


@dataclass
class Shop:
    site: Site
    customers: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)

    def lines(self) -> list[dict[str, Any]]:
        """Every line with its sale's and product's fields (``sale``, ``product``)."""
        out = []
        for s in self.sales:
            for line in s["lines"]:
                out.append({**line, "sale": s, "product_row": self.products[line["product"] - 1]})
        return out


def make_site(db_url: str, tmp_path: Path, **kw: Any) -> Site:
    site = Site(settings_for(db_url, tmp_path, modules=[PACKS], **kw))
    site.migrate()
    return site


def fill(site: Site, n_sales: int = 120, seed: int = 7) -> Shop:
    rng = random.Random(seed)
    shop = Shop(site)
    records = site.records()
    for i in range(6):
        shop.customers.append({"code": f"C{i}", "region": ["north", "south", "east"][i % 3],
                               "rep": REPS[i % 2], "credit": Decimal(i * 100)})
    records.create_many("customer", shop.customers)
    for i in range(5):
        shop.products.append({"code": f"P{i}", "category": CATEGORIES[i % 3]})
    records.create_many("product", shop.products)
    start = dt.datetime(2025, 12, 25, tzinfo=UTC)
    for _ in range(n_sales):
        placed = start + dt.timedelta(minutes=rng.randrange(0, 120 * 24 * 60))
        lines = [{"product": rng.randrange(1, 6), "qty": rng.randrange(1, 9),
                  "amount": Decimal(rng.randrange(-500, 100_000)) / 100}
                 for _ in range(rng.randrange(1, 4))]
        if rng.random() < 0.1:
            lines[0]["amount"] = None  # aggregates skip nulls
        shop.sales.append({
            "customer": rng.randrange(1, 7), "channel": rng.choice(CHANNELS),
            "sold_on": placed.date(), "placed_at": placed,
            "discount": Decimal(rng.randrange(0, 1000)) / 100,
            "rate": Decimal(rng.randrange(0, 100000)) / 1000, "lines": lines})
    records.create_many("sale", shop.sales)
    return shop


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test runs on SQLite and on PostgreSQL (skipped, saying why, without one)."""
    if request.param == "postgresql":
        if not postgres_url():
            pytest.skip("needs PostgreSQL: set YITI_TEST_DATABASE_URL")
        with temporary_database(tmp_path) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def shop(any_db_url: str, tmp_path: Path) -> Iterator[Shop]:
    site = make_site(any_db_url, tmp_path)
    yield fill(site)
    site.close()


@pytest.fixture
def actor(shop: Shop):  # noqa: ANN201
    def make(name: str, *roles: str, **attributes: object) -> Actor:
        users.create_user(shop.site, name, f"{name}-password-1", roles=roles,
                          attributes=attributes)
        return users.actor_for(shop.site, users.get_user(shop.site, name))

    return make
