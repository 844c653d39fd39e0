"""Double 11 at small scale, on PostgreSQL: 40 buyers check out the last 10 units of a
flash-sale SKU at once through the HTTP layer (in process, one thread per buyer), while
others place ordinary orders; from their carts, and again with "buy now" (the checkout
sends its line). Exactly 10 flash units are sold and the invariants of bench/double11.py
hold (sfshop.invariants)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yiti.permissions import tokens, users
from yiti.web.app import create_app

from .sfshop import build_shop, invariants, make_site

X = "/api/v1/x/commerce"
BUYERS, ORDINARY, STOCK = 40, 10, 10


@pytest.mark.postgres_only
@pytest.mark.parametrize("buy_now", [False, True], ids=["cart", "buy-now"])
def test_forty_buyers_ten_units_no_oversell(postgres_db_url: str, tmp_path: Path,
                                            buy_now: bool):
    site = make_site(postgres_db_url, tmp_path)
    try:
        shop = build_shop(site, stock=STOCK)
        r = site.records()
        headers = []
        for i in range(BUYERS + ORDINARY):
            r.create("customer", {"code": f"B{i}", "full_name": f"Buyer {i}",
                                  "user": f"buyer{i}"})
            ident = users.create_user(site, f"buyer{i}", None, roles=["Customer"],
                                      attributes={"customer": f"B{i}"})
            headers.append({"Authorization": f"Bearer {tokens.create_token(site, ident, ('*',))[0]}"})
        app = create_app(site=site)
        app.config.update(YITI_WRITE_WAIT=60)  # this test counts sales, not shedding
        skus = ["SHIRT-1" if i < BUYERS else "TEA-1" for i in range(len(headers))]
        for sku, h in zip(skus, headers, strict=True):
            if not buy_now:
                assert app.test_client().post(f"{X}/cart/add", json={"sku": sku, "qty": 1},
                                              headers=h).status_code == 200
        accepted: list[str] = []
        refused: list[int] = []
        start = threading.Barrier(len(headers))

        def buy(i: int, h: dict[str, str]) -> None:
            client = app.test_client()
            start.wait()
            order = {"lines": [{"sku": skus[i]}]} if buy_now else {}
            placed = client.post(f"{X}/checkout", json=order,
                                 headers={**h, "Idempotency-Key": f"d11-{i}"})
            if placed.status_code != 201:
                assert placed.status_code == 422, placed.json
                refused.append(i)
                return
            pay = client.post(f"{X}/orders/pay", json={"order": placed.json["name"]},
                              headers=h)
            assert pay.status_code == 201, pay.json
            accepted.append(placed.json["name"])

        threads = [threading.Thread(target=buy, args=(i, h)) for i, h in enumerate(headers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(accepted) == STOCK + ORDINARY and len(refused) == BUYERS - STOCK
        assert invariants(site, flash_sku=shop["SHIRT-1"], warehouse=shop["WH"],
                          flash_stock=STOCK, accepted=accepted) == []
    finally:
        site.close()
