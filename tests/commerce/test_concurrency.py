"""On PostgreSQL: 30 customers check out the last 10 units of a flash-sale SKU at once.
Exactly 10 orders are accepted; each has its lines, a payment and its stock moves, and
the ledger sums to the stock levels."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yiti.web.app import create_app

from .conftest import build_shop, ledger_balances, level, make_site

X = "/api/v1/x/commerce"
BUYERS = 30


@pytest.mark.postgres_only
def test_concurrent_checkouts_never_oversell(postgres_db_url: str, tmp_path: Path):
    from yiti.permissions import tokens, users

    site = make_site(postgres_db_url, tmp_path)
    try:
        shop = build_shop(site, stock=10)
        r = site.records()
        r.create("promotion", {"code": "FLASH", "title": "Flash", "kind": "flash_sale",
                               "scope": "sku", "sku": shop["SHOE-1"], "flash_price": "99.00",
                               "per_customer_limit": 1, "total_qty": 100})
        headers = []
        for i in range(BUYERS + 1):
            r.create("customer", {"code": f"B{i}", "full_name": f"Buyer {i}",
                                  "user": f"buyer{i}"})
            ident = users.create_user(site, f"buyer{i}", "buyer-password-1",
                                      roles=["Customer"], attributes={"customer": f"B{i}"})
            token, _ = tokens.create_token(site, ident, ("*",))
            headers.append({"Authorization": f"Bearer {token}"})
        app = create_app(site=site)
        # Every buyer gets a write slot and waits as long as it takes: this test is about
        # the database under concurrent checkouts, not about shedding load (a 429).
        app.config.update(YITI_WRITE_SLOTS=BUYERS, YITI_WRITE_WAIT=60)
        # A first order, paid and then cancelled, gives its flash unit back to the cap.
        warm, headers = headers[0], headers[1:]
        client = app.test_client()
        client.post(f"{X}/cart/add", json={"sku": "SHOE-1", "qty": 1}, headers=warm)
        first = client.post(f"{X}/checkout", json={}, headers=warm).json["name"]
        assert client.post(f"{X}/orders/pay", json={"order": first},
                           headers=warm).status_code == 201
        assert client.post(f"{X}/orders/cancel", json={"order": first},
                           headers=warm).status_code == 200
        for h in headers:
            assert app.test_client().post(f"{X}/cart/add", json={"sku": "SHOE-1", "qty": 1},
                                          headers=h).status_code == 200
        results: list[int] = []
        start = threading.Barrier(BUYERS)

        def buy(h: dict[str, str], i: int) -> None:
            client = app.test_client()
            start.wait()
            response = client.post(f"{X}/checkout", json={},
                                   headers={**h, "Idempotency-Key": f"buy-{i}"})
            if response.status_code == 201:
                pay = client.post(f"{X}/orders/pay", json={"order": response.json["name"]},
                                  headers=h)
                assert pay.status_code == 201
            else:
                assert response.status_code in (409, 422), response.json
            results.append(response.status_code)

        threads = [threading.Thread(target=buy, args=(h, i)) for i, h in enumerate(headers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(201) == 10 and len(results) == BUYERS
        shoe = level(site, shop["SHOE-1"], shop["WH-A"])
        assert (shoe["on_hand"], shoe["reserved"], shoe["available"]) == (10, 10, 0)
        orders = r.list("sales_order", filters=[("status", "=", "pending_payment")],
                        limit=100).rows
        assert len(orders) == 10 and r.count("sales_order").value == 11
        for order in orders:
            full = r.get("sales_order", order["id"])
            assert [line["qty"] for line in full["lines"]] == [1]
            assert r.count("payment", filters=[("sales_order", "=", order["id"])]).value == 1
            assert r.count("stock_move", filters=[("sales_order", "=", order["id"]),
                                                  ("kind", "=", "reserve")]).value == 1
        assert r.get("promotion", "FLASH")["remaining_qty"] == 90  # the cancelled one returned
        ledger_balances(site)
    finally:
        site.close()
