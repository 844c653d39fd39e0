"""The shop's story over HTTP with real roles: a customer fills a cart, applies a coupon,
checks out (idempotently), pays through the signed test provider; staff ship; the ledger
balances. Also: forged and replayed callbacks, cancellation and expiry release stock."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal as D

import pytest

from .conftest import START, ledger_balances, level

X = "/api/v1/x/commerce"


def provider(site):
    from yiti_packs.commerce.hooks.payments import test_provider

    return test_provider(site.records())


def callback(client, site, payment, txn, amount, *, at=START, body=None, signature=None,
             status="succeeded"):
    headers, raw = provider(site).callback(payment, txn, amount, at, status)
    if signature is not None:
        headers["X-Test-Pay-Signature"] = signature
    return client.post(f"{X}/payments/test/callback", data=body or raw, headers=headers)


def checkout(client, ann, key="k-1"):
    return client.post(f"{X}/checkout", json={"ship_to_name": "Ann"},
                       headers={**ann, "Idempotency-Key": key})


def test_cart_quote_checkout_pay_ship(site, shop, client, ann, staff):
    r = client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "qty": 2}, headers=ann)
    assert r.status_code == 200, r.json
    client.post(f"{X}/cart/add", json={"sku": "TEA-1", "qty": 1}, headers=ann)
    client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "qty": 1}, headers=ann)
    cart = client.get(f"{X}/cart", headers=ann).json
    assert [(line["qty"]) for line in cart["lines"]] == [3, 1]
    assert cart["quote"]["grand_total"] == "360.00"  # 3 x 100 + 60, free shipping
    # a 15 % coupon, applied last
    site.records().create("promotion", {"code": "W15", "title": "Welcome", "kind":
                                        "percent_off", "percent": "15",
                                        "requires_coupon": True})
    site.records().create("coupon", {"code": "welcome", "promotion": {"code": "W15"},
                                      "max_uses": 10})
    bad = client.post(f"{X}/cart/coupon", json={"code": "NOPE"}, headers=ann)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "code"
    quote = client.post(f"{X}/cart/coupon", json={"code": "WELCOME"}, headers=ann).json["quote"]
    assert quote["grand_total"] == "306.00"  # 360 - 15 % (54.00)
    assert [p["code"] for p in quote["promotions"]] == ["WELCOME", "WELCOME"]

    first = checkout(client, ann)
    assert first.status_code == 201, first.json
    again = checkout(client, ann)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    order = first.json
    assert order["status"] == "pending_payment" and order["grand_total"] == "306.00"
    assert site.records().count("sales_order").value == 1
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["reserved"] == 3
    assert client.get(f"{X}/cart", headers=ann).json["cart"] is None  # the cart is closed
    # the coupon can't be used twice by the same customer
    client.post(f"{X}/cart/add", json={"sku": "TEA-1", "qty": 1}, headers=ann)
    twice = client.post(f"{X}/cart/coupon", json={"code": "WELCOME"}, headers=ann)
    assert twice.status_code == 422 and "already used" in twice.json["detail"]

    paying = client.post(f"{X}/orders/pay", json={"order": order["name"]}, headers=ann)
    assert paying.status_code == 201 and paying.json["amount"] == "306.00"
    done = callback(client, site, paying.json["payment"], "TXN-1", "306.00")
    assert done.status_code == 200 and done.json["status"] == "succeeded"
    mine = client.get(f"{X}/order", query_string={"name": order["name"]}, headers=ann).json
    assert mine["status"] == "paid" and mine["paid_amount"] == "306.00"
    # the REST API shows Ann her order, and nobody else's
    assert client.get(f"/api/v1/sales_order/{order['id']}", headers=ann).status_code == 200

    assert client.post(f"{X}/orders/ship", json={"order": order["name"]},
                       headers=ann).status_code == 404  # customers can't
    shipped = client.post(f"{X}/orders/ship", json={"order": order["name"], "carrier": "sf",
                                                    "tracking_no": "SF123"}, headers=staff)
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped"
    shirt = level(site, shop["SHIRT-1"], shop["WH-A"])
    assert (shirt["on_hand"], shirt["reserved"], shirt["available"]) == (47, 0, 47)
    again = client.post(f"{X}/orders/ship", json={"order": order["name"]}, headers=staff)
    assert again.status_code == 409 and again.json["code"] == "conflict"
    ledger_balances(site)


def test_buy_now_orders_the_lines_sent_and_leaves_the_cart(site, shop, client, ann):
    """``checkout`` with ``lines`` (a flash-sale page's "buy now"): the order has exactly
    those lines, priced and reserved as a cart's would be; the open cart is untouched."""
    client.post(f"{X}/cart/add", json={"sku": "TEA-1", "qty": 2}, headers=ann)
    site.records().create("promotion", {"code": "W15", "title": "Welcome", "kind":
                                        "percent_off", "percent": "15",
                                        "requires_coupon": True})
    site.records().create("coupon", {"code": "WELCOME", "promotion": {"code": "W15"},
                                      "max_uses": 10})
    body = {"lines": [{"sku": "SHIRT-1", "qty": 2}, {"sku": shop["SHOE-1"]}],
            "coupon_code": "welcome", "ship_to_name": "Ann"}
    first = client.post(f"{X}/checkout", json=body, headers={**ann, "Idempotency-Key": "b-1"})
    assert first.status_code == 201, first.json
    order = first.json
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [
        (shop["SHIRT-1"], 2), (shop["SHOE-1"], 1)]
    assert order["coupon_code"] == "WELCOME"
    assert order["grand_total"] == "297.50"  # (200 + 150) less 15 %, free shipping
    again = client.post(f"{X}/checkout", json=body, headers={**ann, "Idempotency-Key": "b-1"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == order
    assert site.records().count("sales_order").value == 1
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["reserved"] == 2
    assert level(site, shop["SHOE-1"], shop["WH-A"])["reserved"] == 1
    cart = client.get(f"{X}/cart", headers=ann).json
    assert [(line["sku"], line["qty"]) for line in cart["lines"]] == [(shop["TEA-1"], 2)]
    assert level(site, shop["TEA-1"], shop["WH-A"])["reserved"] == 0
    ledger_balances(site)


def test_checkout_with_pay_starts_the_payment_in_the_same_request(site, shop, client, ann):
    """``pay`` places the order and starts its payment at once (one request, one
    transaction): the answer is the order with ``payment`` as ``orders/pay`` gives it, the
    payment's callback pays the order; a replay of the key answers the same, once."""
    body = {"lines": [{"sku": "SHIRT-1", "qty": 2}], "pay": "test", "ship_to_name": "Ann"}
    first = client.post(f"{X}/checkout", json=body, headers={**ann, "Idempotency-Key": "p-1"})
    assert first.status_code == 201, first.json
    order, payment = first.json, first.json["payment"]
    assert order["status"] == "pending_payment" and order["grand_total"] == "200.00"
    assert payment["status"] == "pending" and payment["amount"] == order["grand_total"]
    assert payment["provider"]["pay_url"].endswith(payment["payment"])
    stored = site.records().list("payment", filters=[("sales_order", "=", order["id"])]).rows
    assert [(p["name"], p["amount"], p["status"]) for p in stored] == [
        (payment["payment"], D("200.00"), "pending")]
    again = client.post(f"{X}/checkout", json=body, headers={**ann, "Idempotency-Key": "p-1"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.json == first.json
    assert site.records().count("payment").value == 1
    paid = callback(client, site, payment["payment"], "T-1", order["grand_total"])
    assert paid.status_code == 200 and paid.json["status"] == "succeeded", paid.json
    assert site.records().get("sales_order", order["id"])["status"] == "paid"
    # without pay, no payment (and no payment key) as before
    later = client.post(f"{X}/checkout", json={"lines": [{"sku": "TEA-1"}]},
                        headers={**ann, "Idempotency-Key": "p-2"})
    assert later.status_code == 201 and "payment" not in later.json
    assert site.records().count("payment").value == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"lines": [{"sku": "SHIRT-1"}], "pay": "paypal"}, "pay"),
    ({"lines": [{"sku": "SHIRT-1", "qty": 51}], "pay": "test"}, "lines[0].qty"),
])
def test_checkout_with_pay_refused_changes_nothing(site, shop, client, ann, body, field):
    r = client.post(f"{X}/checkout", json=body, headers=ann)
    assert r.status_code == 422 and [e["field"] for e in r.json["errors"]] == [field], r.json
    assert site.records().count("sales_order").value == 0
    assert site.records().count("payment").value == 0
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["reserved"] == 0


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"lines": [{"sku": "NOPE-1"}]}, "lines[0].sku", "no sku 'NOPE-1'"),
    ({"lines": [{"sku": "TEA-1"}, {"sku": "SHIRT-1", "qty": 0}]}, "lines[1].qty",
     "less than the minimum of 1"),
    ({"lines": [{"sku": "SHIRT-1", "qty": 51}]}, "lines[0].qty",
     "not enough stock of SHIRT-1"),
    ({"lines": [{"sku": "TEA-1"}] * 101}, "lines", "has more than 100 items"),
    ({"lines": [{"sku": "TEA-1"}], "coupon_code": "NOPE"}, "coupon_code", "NOPE"),
    ({"coupon_code": "WELCOME"}, "coupon_code", "goes with lines"),
])
def test_buy_now_refuses_bad_lines_naming_them(site, shop, client, ann, body, field,
                                               reason):
    r = client.post(f"{X}/checkout", json=body, headers=ann)
    assert r.status_code == 422, r.json
    assert [e["field"] for e in r.json["errors"]] == [field]
    assert reason in r.json["errors"][0]["message"], r.json
    assert site.records().count("sales_order").value == 0
    assert level(site, shop["TEA-1"], shop["WH-A"])["reserved"] == 0


def place(site, shop, qty=2, customer="ANN", sku="SHIRT-1", channel="ONLINE"):
    """Place an order through the record service, as the staff endpoint does."""
    from yiti_packs.commerce.hooks.orders import place as place_order

    r = site.records()
    return place_order(r, channel=r.get("channel", shop[channel]),
                       customer=r.get("customer", shop[customer]), lines=[(shop[sku], qty)])


def test_forged_old_and_replayed_callbacks_change_nothing(site, shop, client, ann):
    order = place(site, shop)
    payment = client.post(f"{X}/orders/pay", json={"order": order["name"]},
                          headers=ann).json["payment"]
    amount = order["grand_total"]
    forged = callback(client, site, payment, "T-1", amount, signature="t=1,v1=00")
    assert forged.status_code == 401 and forged.json["code"] == "bad_signature"
    headers, raw = provider(site).callback(payment, "T-1", amount, START)
    tampered = json.loads(raw)
    tampered["amount"] = "0.01"
    changed = client.post(f"{X}/payments/test/callback", data=json.dumps(tampered),
                          headers=headers)
    assert changed.status_code == 401
    old = callback(client, site, payment, "T-1", amount, at=START - dt.timedelta(minutes=10))
    assert old.status_code == 401 and "window" in old.json["detail"]
    assert site.records().get("sales_order", order["id"])["status"] == "pending_payment"
    ok = callback(client, site, payment, "T-1", amount)
    assert ok.json["status"] == "succeeded"
    replay = callback(client, site, payment, "T-1", amount)
    assert replay.status_code == 200 and replay.json["status"] == "already_processed"
    other = callback(client, site, payment, "T-2", amount)
    assert other.status_code == 409
    assert other.json["detail"] == f"payment {payment} is already succeeded"
    history = site.records().history("sales_order", order["id"])
    assert [h["action"] for h in history].count("pay") == 1


def test_a_failed_payment_may_still_succeed_and_a_late_failure_changes_nothing(
        site, shop, client, ann):
    order = place(site, shop)
    payment = client.post(f"{X}/orders/pay", json={"order": order["name"]},
                          headers=ann).json["payment"]
    amount = order["grand_total"]
    failed = callback(client, site, payment, "T-1", amount, status="failed")
    assert (failed.status_code, failed.json["status"]) == (200, "failed")
    assert site.records().get("sales_order", order["id"])["status"] == "pending_payment"
    # the buyer tries again with the provider: the money is taken, the order is paid
    ok = callback(client, site, payment, "T-2", amount)
    assert (ok.status_code, ok.json["status"]) == (200, "succeeded"), ok.json
    assert site.records().get("sales_order", order["id"])["status"] == "paid"
    # a failure of some other attempt, reported late, changes nothing and is not retried
    late = callback(client, site, payment, "T-3", amount, status="failed")
    assert late.status_code == 200
    assert late.json == {"status": "ignored", "payment": payment}
    (row,) = site.records().list("payment", filters=[("name", "=", payment)]).rows
    assert (row["status"], row["provider_txn"]) == ("succeeded", "T-2")
    assert site.records().get("sales_order", order["id"])["status"] == "paid"


def test_cancel_releases_the_reservation(site, shop, client, ann):
    order = place(site, shop, qty=5)
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["available"] == 45
    r = client.post(f"{X}/orders/cancel", json={"order": order["name"]}, headers=ann)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    row = level(site, shop["SHIRT-1"], shop["WH-A"])
    assert (row["reserved"], row["available"]) == (0, 50)
    again = client.post(f"{X}/orders/cancel", json={"order": order["name"]}, headers=ann)
    assert again.status_code == 409
    bob = client.post(f"{X}/orders/cancel", json={"order": order["name"]},
                      headers={})
    assert bob.status_code in (401, 403)
    ledger_balances(site)


def test_unpaid_orders_expire_and_their_stock_returns(site, shop):
    order = place(site, shop, qty=4)
    site.jobs.tick()  # the schedules start counting from now
    site.jobs.clock.advance(minutes=29)
    site.jobs.tick()
    site.jobs.drain()
    assert site.records().get("sales_order", order["id"])["status"] == "pending_payment"
    site.jobs.clock.advance(minutes=2)
    site.jobs.tick()
    site.jobs.drain()
    expired = site.records().get("sales_order", order["id"])
    assert expired["status"] == "cancelled" and "expired" in expired["cancel_reason"]
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["available"] == 50
    ledger_balances(site)


def test_stock_never_goes_below_zero(site, shop):
    from yiti.errors import ValidationError

    place(site, shop, qty=50)
    with pytest.raises(ValidationError, match="not enough stock of SHIRT-1 in WH-A: 0"):
        place(site, shop, qty=1, customer="BOB")
    assert site.records().count("sales_order").value == 1  # the refused order left nothing


def test_flash_sale_limit_per_customer_and_cap(site, shop):
    from yiti.errors import ValidationError

    r = site.records()
    r.create("promotion", {"code": "FLASH", "title": "Flash", "kind": "flash_sale",
                           "scope": "sku", "sku": shop["SHOE-1"], "flash_price": "99.00",
                           "per_customer_limit": 2, "total_qty": 3})
    order = place(site, shop, qty=2, sku="SHOE-1")
    assert order["promotions"][0]["code"] == "FLASH"
    assert order["grand_total"] == D("198.00")
    with pytest.raises(ValidationError, match="at most 2 per customer"):
        place(site, shop, qty=1, sku="SHOE-1")
    with pytest.raises(ValidationError, match="sold out"):
        place(site, shop, qty=2, sku="SHOE-1", customer="BOB")
    place(site, shop, qty=1, sku="SHOE-1", customer="BOB")
    assert r.get("promotion", "FLASH")["remaining_qty"] == 0


def test_channel_allocation_protects_promised_stock(site, shop):
    from yiti.errors import ValidationError

    r = site.records()
    r.create("stock_allocation", {"channel": shop["TMALL"], "warehouse": shop["WH-A"],
                                  "mode": "fixed", "quantity": 20})
    from yiti_packs.commerce.hooks.stock import allocate

    assert allocate(r) == 3
    assert level(site, shop["TEA-1"], shop["WH-A"])["free"] == 30
    place(site, shop, qty=30, sku="TEA-1")  # the online mall takes all the free stock
    with pytest.raises(ValidationError, match="not enough stock"):
        place(site, shop, qty=1, sku="TEA-1", customer="BOB")
    tmall = place(site, shop, qty=20, sku="TEA-1", channel="TMALL", customer="BOB")
    assert tmall["lines"][0]["reserved_from"] == "channel"
    ledger_balances(site)


def test_stocktake_and_transfer_post_to_the_ledger(site, shop):
    r = site.records()
    take = r.create("stocktake", {"warehouse": shop["WH-A"], "lines": [
        {"sku": shop["TEA-1"], "counted_qty": 47}]})
    assert take["lines"][0]["book_qty"] == 50 and take["total_variance"] == -3
    r.submit("stocktake", take["id"])
    moved = r.create("stock_transfer", {"from_warehouse": shop["WH-A"],
                                        "to_warehouse": shop["WH-B"],
                                        "lines": [{"sku": shop["TEA-1"], "qty": 7}]})
    r.submit("stock_transfer", moved["id"])
    assert level(site, shop["TEA-1"], shop["WH-A"])["on_hand"] == 40
    assert level(site, shop["TEA-1"], shop["WH-B"])["on_hand"] == 7
    from yiti.errors import ValidationError

    row = r.list("stock_move", limit=1).rows[0]
    with pytest.raises(ValidationError, match="never changed"):
        r.update("stock_move", row["id"], {"note": "edited"})
    ledger_balances(site)


def test_low_stock_alert_notifies_the_warehouse_manager(site, shop):
    r = site.records()
    row = level(site, shop["TEA-1"], shop["WH-A"])
    r.update("stock_level", row["id"], {"reorder_level": 60})
    assert level(site, shop["TEA-1"], shop["WH-A"])["headroom"] == -10
    from yiti.jobs import enqueue

    enqueue(site, "commerce.low_stock_alerts")
    site.jobs.drain()
    from yiti.jobs import unread_count

    assert unread_count(site, "keeper") == 1


def test_only_the_orders_customer_may_pay_it(site, shop, client, ann, token):
    order = place(site, shop)
    bob = token("bob", "Customer", customer="BOB")
    nobody = token("nia", "Customer")  # a user no customer record names
    for headers, status in ((bob, 404), (nobody, 403), (ann, 201)):
        paying = client.post(f"{X}/orders/pay", json={"order": order["name"]},
                             headers=headers)
        assert paying.status_code == status, paying.json
        if status == 404:
            assert order["name"] in paying.json["detail"] and "amount" not in paying.json
    missing = client.post(f"{X}/orders/pay", json={"order": "SO-NOPE"}, headers=ann)
    assert missing.status_code == 404
    assert site.records().count("payment").value == 1
