"""Where one checkout's server time goes: the Flask test client on PostgreSQL, no HTTP.

    .venv/bin/python bench/checkout_profile.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/checkout_profile.py --database-url ... --profile 30   # cProfile's top 30

The shop of bench/double11.py (its ``set_up``, in a fresh schema). Each round, one buyer
adds an ordinary SKU to the cart, checks out and starts paying, through the same pack
endpoints the benchmark calls over HTTP. Prints, per step, the median server time and the
number of SQL statements (counted with an SQLAlchemy ``before_cursor_execute`` listener)
and the CPU time this process spent (Python: the app, the driver, the test client),
then the same for a checkout of the flash SKU (half the buyers try it first in the
benchmark) and for a sold-out flash checkout. With ``--profile N``, cProfile's top N
functions by cumulative CPU time (``time.process_time``, so waiting for PostgreSQL is not
counted) over the ordinary rounds' three steps: add to cart, checkout and pay.
``--flow buy-now``: no cart; the checkout sends its line (as ``bench/double11.py
--flow buy-now``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import database, set_up
from sqlalchemy import event

X = "/api/v1/x/commerce"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("YITI_TEST_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N")
    parser.add_argument("--sort", default="cumulative", help="cProfile's order (tottime...)")
    parser.add_argument("--dump", help="with --profile: also write cProfile's data to this "
                                       "file (for pstats: callers, callees)")
    parser.add_argument("--flow", choices=("cart", "buy-now"), default="cart")
    parser.add_argument("--trace", action="store_true",
                        help="print the SQL statements of one ordinary round")
    args = parser.parse_args()
    url = args.database_url
    if not url or not url.startswith("postgresql"):
        print("bench/checkout_profile.py needs PostgreSQL: pass --database-url",
              file=sys.stderr)
        return 2
    from yiti.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="yiti-prof-"))
    with database(url, tmp) as url:
        setup_args = argparse.Namespace(flash_stock=max(args.rounds // 2, 1), burst_stock=10,
                                        buyers=2 * args.rounds + 2, burst=0,
                                        phases=["checkout"])
        site, ids = set_up(url, tmp, setup_args)
        app = create_app(site=site)
        client = app.test_client()
        statements = [0]
        trace: list[str] = []

        @event.listens_for(site.engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements[0] += 1
            if args.trace:
                trace.append(" ".join(statement.split())[:160])

        if args.trace:  # the round trips that are not statements: transactions, the pool
            def mark(conn: Any, name: str) -> None:
                auto = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
                if not auto:  # an autocommit connection sends no BEGIN and no ROLLBACK
                    trace.append(f"  [{name.upper()}]")

            for name in ("begin", "commit", "rollback"):
                event.listen(site.engine, name, lambda conn, name=name: mark(conn, name))
            event.listen(site.engine.pool, "checkout",
                         lambda *_: trace.append("  [pool checkout]"))
            event.listen(site.engine.pool, "reset",
                         lambda *_: trace.append("  [pool reset: rollback]"))

        def step(path: str, body: dict[str, Any], headers: dict[str, str]
                 ) -> tuple[float, int, Any]:
            n0, t0, c0 = statements[0], time.perf_counter(), time.process_time()
            result = client.post(path, json=body, headers=headers)
            return (time.perf_counter() - t0, statements[0] - n0, result,
                    time.process_time() - c0)

        def rounds(buyers: list[dict[str, str]], sku_of: Callable[[int], str], tag: str,
                   profile: cProfile.Profile | None = None) -> dict[str, list]:
            out: dict[str, list] = {"add": [], "checkout": [], "pay": [], "status": []}
            for i, h in enumerate(buyers):
                sku = sku_of(i)
                trace.append(f"-- {tag} {i}: add to cart")
                if profile:
                    profile.enable()
                order: dict[str, Any] = {}
                if args.flow == "cart":
                    add = step(f"{X}/cart/add", {"sku": sku, "qty": 1}, h)
                    assert add[2].status_code == 200, add[2].get_data(as_text=True)
                    out["add"].append((*add[:2], add[3]))
                else:
                    order = {"lines": [{"sku": sku, "qty": 1}]}
                trace.append(f"-- {tag} {i}: checkout")
                co = step(f"{X}/checkout", order, {**h, "Idempotency-Key": f"{tag}-{i}"})
                out["checkout"].append((*co[:2], co[3]))
                out["status"].append(co[2].status_code)
                if co[2].status_code == 201:
                    name = co[2].get_json()["name"]
                    trace.append(f"-- {tag} {i}: pay")
                    pay = step(f"{X}/orders/pay", {"order": name},
                               {**h, "Idempotency-Key": f"{tag}-pay-{i}"})
                    assert pay[2].status_code == 201, pay[2].get_data(as_text=True)
                    out["pay"].append((*pay[:2], pay[3]))
                if profile:
                    profile.disable()
            return out

        def show(label: str, out: dict[str, list]) -> None:
            statuses: dict[int, int] = {}
            for s in out["status"]:
                statuses[s] = statuses.get(s, 0) + 1
            parts = []
            for name in ("add", "checkout", "pay"):
                if out[name]:
                    ms = statistics.median(t for t, _, _ in out[name]) * 1000
                    cpu = statistics.median(c for _, _, c in out[name]) * 1000
                    sql = statistics.median(n for _, n, _ in out[name])
                    parts.append(f"{name} {ms:.1f} ms ({cpu:.1f} ms CPU in this process) / "
                                 f"{sql:.0f} statements")
            print(f"{label} ({len(out['status'])} rounds, checkout statuses {statuses}): "
                  + "; ".join(parts))

        buyers = ids["buyers"]
        n = args.rounds
        time.sleep(3.5)  # the set-up changed the catalogue: none is kept for a few seconds
        ordinary = ids["ordinary"]
        rounds(buyers[-2:], lambda i: ordinary[i % len(ordinary)], "warm")  # warm caches
        if args.trace:
            trace.clear()
            rounds(buyers[-3:-2], lambda i: ordinary[5], "trace")
            print("\n".join(trace))
            rounds(buyers[-4:-3], lambda i: "SHIRT-1", "trace-flash")
            print("\n".join(trace))
            return 0
        profile = cProfile.Profile(time.process_time) if args.profile else None
        show("ordinary SKU", rounds(buyers[:n], lambda i: ordinary[i % len(ordinary)],
                                    "plain", profile))
        flash_stock = setup_args.flash_stock
        show("flash SKU (in stock)", rounds(buyers[n:n + flash_stock],
                                            lambda i: "SHIRT-1", "flash"))
        show("flash SKU (sold out)", rounds(buyers[n + flash_stock:2 * n],
                                            lambda i: "SHIRT-1", "soldout"))
        if profile is not None:
            if args.dump:
                profile.dump_stats(args.dump)
            stream = io.StringIO()
            pstats.Stats(profile, stream=stream).sort_stats(args.sort).print_stats(
                args.profile)
            print(stream.getvalue())
        site.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
