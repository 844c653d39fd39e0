"""What the benchmarks share: a fresh database, the timers, and the Double 11 shop.

Not a benchmark itself; the scripts in bench/ import it (they put bench/ on ``sys.path``
by running from it).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "platform", ROOT / "tests" / "storefront"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from yiti.testing import temporary_database  # noqa: E402


@contextmanager
def database(url: str | None, tmp: Path) -> Iterator[str]:
    """A fresh schema of a PostgreSQL ``url``, dropped afterwards; without a URL, an SQLite
    file in ``tmp``; any other URL as it is (the caller's own database)."""
    if url and not url.startswith("postgresql"):
        yield url
        return
    with temporary_database(tmp, base_url=url or "") as fresh:
        yield fresh


def schema_of(url: str) -> str:
    """The schema a URL from :func:`database` searches first ('' for none)."""
    found = re.search(r"search_path(?:=|%3D)(\w+)", url)
    return found.group(1) if found else ""


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """The median wall time of ``fn`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``fn`` over ``repeat`` runs after one to warm up, in ms."""
    fn()
    return timed(fn, repeat) * 1000


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of latencies in seconds (the nearest rank), in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def summary(label: str, latencies: list[float], seconds: float, count: int, unit: str) -> str:
    return (f"{label}: {count / seconds:,.0f} {unit}/s ({count:,} in {seconds:.1f} s); "
            f"p50 {pct(latencies, 50):.0f} ms, p95 {pct(latencies, 95):.0f} ms, "
            f"p99 {pct(latencies, 99):.0f} ms")


def set_up(url: str, tmp: Path, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """A fresh shop; the ids by code, the buyers' and the burst buyers' tokens.

    ``args`` needs ``flash_stock``, ``burst_stock``, ``buyers``, ``burst`` and ``phases``
    (buyers are made for the ``checkout`` phase, burst buyers for ``burst``).
    """
    from sfshop import build_shop

    from yiti.definitions import register_kind
    from yiti.fixtures import load_fixtures
    from yiti.permissions import tokens, users
    from yiti.permissions.kind import PERMISSIONS
    from yiti.site import Site
    from yiti.testing import settings_for

    register_kind(PERMISSIONS)
    site = Site(settings_for(url, tmp, modules=[ROOT / "modules"], packs=["commerce"]))
    site.migrate()
    load_fixtures(site)
    ids = build_shop(site, stock=args.flash_stock, flash_qty=100_000)
    r = site.records()
    skus = []
    for i in range(1, 21):
        product = r.create("product", {"code": f"P-{i:03d}", "title": f"Product {i}",
                                       "list_price": f"{20 + i}.00",
                                       "category": ids["APPAREL"],
                                       "shipping_class": {"code": "STD"}})
        skus.append(r.create("sku", {"code": f"P-{i:03d}-1", "product": product["id"]})["id"])
        for channel in ("ONLINE", "WECHAT"):
            r.create("channel_listing", {"channel": ids[channel], "product": product["id"]})
    hot = r.create("product", {"code": "HOT", "title": "Hot item", "list_price": "99.00",
                               "category": ids["APPAREL"], "shipping_class": {"code": "STD"}})
    ids["HOT-1"] = r.create("sku", {"code": "HOT-1", "product": hot["id"]})["id"]
    r.create("channel_listing", {"channel": ids["ONLINE"], "product": hot["id"]})
    base = r.create("sku", {"code": "BASE-FLASH", "product": hot["id"]})["id"]
    ids["BASE-FLASH"] = base
    entry = r.create("stock_entry", {"warehouse": ids["WH"], "lines": [
        *({"sku": s, "qty": 1_000_000, "unit_cost": "5.00"} for s in
          [*skus, ids["TEA-1"], ids["SHOE-1"]]),
        {"sku": ids["HOT-1"], "qty": args.burst_stock, "unit_cost": "5.00"},
        {"sku": base, "qty": args.flash_stock, "unit_cost": "5.00"}]})
    r.submit("stock_entry", entry["id"])
    ids["HOT-PROMO"] = r.create("promotion", {
        "code": "HOT11", "title": "Hot item flash", "kind": "flash_sale", "scope": "sku",
        "sku": ids["HOT-1"], "flash_price": "9.90", "per_customer_limit": 1,
        "total_qty": 100_000})["id"]
    ids["BASE-PROMO"] = r.create("promotion", {
        "code": "BASE11", "title": "Baseline flash", "kind": "flash_sale", "scope": "sku",
        "sku": base, "flash_price": "9.90", "total_qty": args.flash_stock, "active": False,
        })["id"]
    ids["ordinary"] = ["TEA-1", "SHOE-1", *(f"P-{i:03d}-1" for i in range(1, 21))]
    buyers = args.buyers if "checkout" in args.phases else 0
    burst = args.burst if "burst" in args.phases else 0
    total = buyers + burst
    r.create_many("customer", [{"code": f"B{i}", "full_name": f"Buyer {i}", "user": f"b{i}"}
                               for i in range(total)])
    if not total:  # the baseline's orders need a customer
        r.create("customer", {"code": "B0", "full_name": "Buyer 0"})
    ids["customer"] = r.list("customer", filters=[("code", "=", "B0")]).rows[0]["id"]
    tokens_ = []
    for i in range(total):
        ident = users.create_user(site, f"b{i}", None, roles=["Customer"],
                                  attributes={"customer": f"B{i}"})
        tokens_.append({"Authorization": f"Bearer {tokens.create_token(site, ident, ('*',))[0]}"})
    ids["buyers"], ids["burst"] = tokens_[:buyers], tokens_[buyers:]
    return site, ids
