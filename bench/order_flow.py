"""What the order flow's steps cost on the server: the Flask test client on PostgreSQL.

    .venv/bin/python bench/order_flow.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The shop of bench/double11.py (its ``set_up``, in a fresh schema). Each round a buyer
checks out one ordinary SKU and starts paying; then, timed: the provider's signed payment
callback (the ``pay`` action), a staff ship (``orders/ship`` with a carrier and a tracking
number: the shipment and the ship moves) and, for a second order, a staff cancel
(``orders/cancel_any``: the reservation released). Prints each step's median server time
and number of SQL statements (an SQLAlchemy ``before_cursor_execute`` listener). The pack
endpoints are used, not ``/actions/<action>``, so the same script runs on code from before
the flow was a workflow, to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import database, set_up
from sqlalchemy import event

X = "/api/v1/x/commerce"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("YITI_TEST_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--trace", action="store_true",
                        help="print the SQL statements of the last round's ship")
    args = parser.parse_args()
    url = args.database_url
    if not url or not url.startswith("postgresql"):
        print("bench/order_flow.py needs PostgreSQL: pass --database-url", file=sys.stderr)
        return 2
    from yiti.permissions import tokens, users
    from yiti.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="yiti-flow-"))
    with database(url, tmp) as url:
        n = args.rounds
        setup = argparse.Namespace(flash_stock=1, burst_stock=10, buyers=2 * n + 2, burst=0,
                                   phases=["checkout"])
        site, ids = set_up(url, tmp, setup)
        from yiti_packs.commerce.hooks.payments import test_provider  # loaded by the site
        app = create_app(site=site)
        client = app.test_client()
        ident = users.create_user(site, "olga", "olga-password-1", roles=["Order Clerk"])
        staff = {"Authorization": f"Bearer {tokens.create_token(site, ident, ('*',))[0]}"}
        pay_provider = test_provider(site.records())
        statements = [0]
        trace: list[str] = []

        @event.listens_for(site.engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements[0] += 1
            trace.append(" ".join(statement.split())[:150])

        def step(path: str, headers: dict[str, str], body: Any = None, data: bytes | None = None
                 ) -> tuple[float, int, Any]:
            n0, t0 = statements[0], time.perf_counter()
            result = (client.post(path, data=data, headers=headers) if data is not None
                      else client.post(path, json=body, headers=headers))
            return time.perf_counter() - t0, statements[0] - n0, result

        def order(h: dict[str, str], i: int, tag: str) -> dict[str, Any]:
            sku = ids["ordinary"][i % len(ids["ordinary"])]
            assert client.post(f"{X}/cart/add", json={"sku": sku, "qty": 1},
                               headers=h).status_code == 200
            placed = client.post(f"{X}/checkout", json={},
                                 headers={**h, "Idempotency-Key": f"{tag}-{i}"})
            assert placed.status_code == 201, placed.get_data(as_text=True)
            return placed.get_json()

        out: dict[str, list[tuple[float, int]]] = {"pay callback": [], "ship": [],
                                                   "cancel": []}
        time.sleep(3.5)  # the set-up changed the catalogue: none is kept for a few seconds
        buyers = ids["buyers"]
        for i in range(n + 1):  # round 0 warms the caches
            h = buyers[i]
            placed = order(h, i, "ship")
            paying = client.post(f"{X}/orders/pay", json={"order": placed["name"]},
                                 headers=h).get_json()
            headers, raw = pay_provider.callback(paying["payment"], f"T-{i}", paying["amount"],
                                                 dt.datetime.now(dt.UTC))
            paid = step(f"{X}/payments/test/callback", headers, data=raw)
            assert paid[2].get_json()["status"] == "succeeded", paid[2].get_json()
            trace.clear()
            shipped = step(f"{X}/orders/ship", staff, {"order": placed["name"], "carrier": "sf",
                                                       "tracking_no": f"SF{i:06d}"})
            assert shipped[2].status_code == 200, shipped[2].get_json()
            shipping = list(trace)
            other = order(buyers[n + 1 + i], i, "cancel")
            cancelled = step(f"{X}/orders/cancel_any", staff, {"order": other["name"],
                                                               "reason": "bench"})
            assert cancelled[2].status_code == 200, cancelled[2].get_json()
            if i:
                out["pay callback"].append(paid[:2])
                out["ship"].append(shipped[:2])
                out["cancel"].append(cancelled[:2])
        print(f"{n} rounds on PostgreSQL: " + "; ".join(
            f"{name} {statistics.median(t for t, _ in rows) * 1000:.1f} ms / "
            f"{statistics.median(c for _, c in rows):.0f} statements"
            for name, rows in out.items()))
        if args.trace:
            print("\n".join(shipping))
        site.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
