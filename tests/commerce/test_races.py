"""Money under concurrency (the load red-team's findings, docs/commerce.md "Orders" and
"The payment callback"): the expiry job never cancels an order paid while it runs, and one
order moved by someone else does not stop the run; a payment callback racing cancels, or
delivered twice at once, always ends in a documented answer and state; a customer's cancel
that loses to a payment is the documented 409.

The races run on PostgreSQL (threads released together by a barrier, repeated), where
rows are locked as in production; SQLite serializes writers, so they skip there. The
deterministic expiry test runs everywhere."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from yiti.api import SYSTEM
from yiti.site import Site
from yiti.web.app import create_app
from yiti.workflow import workflows_of

from .conftest import START, build_shop, ledger_balances, level, make_site
from .test_checkout import callback, place
from .test_order_flow import flow

X = "/api/v1/x/commerce"
A = "/api/v1/sales_order"
AFTER_EXPIRY = START + dt.timedelta(minutes=31)  # the shop's reservations last 30 minutes
#: the answers docs/commerce.md gives a succeeded callback for a payment still pending
PAID_ANSWERS = {"succeeded", "paid_but_order_cancelled"}


def expire(site: Site, at: dt.datetime = AFTER_EXPIRY) -> dict[str, list[str]]:
    from yiti_packs.commerce.hooks.orders import expire as run

    return run(site.records(), at)


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released at once; their results (or what they raised)."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as error:  # noqa: BLE001 (reported by the test's assertions)
            out[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def payment_of(site: Site, order: dict[str, Any]) -> dict[str, Any]:
    (payment,) = site.records().list("payment", filters=[
        ("sales_order", "=", order["id"])]).rows
    return payment


def check_money(site: Site, shop: dict[str, Any], orders: list[dict[str, Any]]) -> None:
    """Each order is paid with its payment succeeded, or cancelled with its payment
    refunded or never settled; no order left the paid state for cancelled as "not paid in
    time"; the ledger sums to the levels, and only paid orders hold stock."""
    r = site.records()
    held = 0
    for order in orders:
        now = r.get("sales_order", order["id"])
        payment = payment_of(site, order)
        history = [(h["action"], h["from_state"], h["to_state"])
                   for h in workflows_of(site).history(SYSTEM, "sales_order", order["id"])]
        assert ("expire", "paid", "cancelled") not in history
        assert [h[2] for h in history].count("cancelled") <= 1  # released once
        if now["status"] == "paid":
            assert payment["status"] == "succeeded", (now["name"], payment)
            held += sum(line["qty"] for line in now["lines"])
        else:
            assert now["status"] == "cancelled", now["name"]
            assert payment["status"] in ("pending", "refunded"), (now["name"], payment)
            assert [line["reserved_qty"] for line in now["lines"]] == [0] * len(now["lines"])
    ledger_balances(site)
    shirt = level(site, shop["SHIRT-1"], shop["WH-A"])
    assert shirt["reserved"] == held


def _ann_and_clerk(site: Site) -> tuple[dict[str, str], dict[str, str]]:
    from yiti.permissions import tokens, users

    out = []
    for name, roles, attributes in (("ann", ["Customer"], {"customer": "ANN"}),
                                    ("olga", ["Order Clerk"], {})):
        ident = users.create_user(site, name, f"{name}-password-1", roles=roles,
                                  attributes=attributes)
        out.append({"Authorization": f"Bearer {tokens.create_token(site, ident, ('*',))[0]}"})
    return out[0], out[1]


def _started(site: Site, shop: dict[str, Any], client: Any, ann: dict[str, str], n: int
             ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``n`` orders of one shirt each, with a test payment started for each."""
    out = []
    for _ in range(n):
        order = place(site, shop, qty=1)
        paying = client.post(f"{X}/orders/pay", json={"order": order["name"]}, headers=ann)
        assert paying.status_code == 201, paying.json
        out.append((order, paying.json))
    return out


def test_an_order_paid_after_the_expiry_listed_it_is_skipped_and_the_run_goes_on(
        site, shop, client, ann, monkeypatch):
    """The payment lands between the expiry's list and that order's turn (what a batch of
    500 makes likely): that order stays paid, the others expire, the run says so."""
    from yiti import api

    orders = _started(site, shop, client, ann, 3)
    first, paying = orders[1]
    module = sys.modules["yiti_packs.commerce.hooks.orders"]
    real, turns = module.aware, []

    def pay_at_its_turn(value):  # noqa: ANN001, ANN202
        # the run looks at each listed order's reservation just before cancelling it,
        # outside any transaction: the provider's callback for the second lands there
        turns.append(value)
        if len(turns) == 2:
            done = callback(client, site, paying["payment"], "T-late", paying["amount"])
            assert done.status_code == 200 and done.json["status"] == "succeeded"
        return real(value)

    monkeypatch.setattr(module, "aware", pay_at_its_turn)
    done = expire(site)
    assert done == {"expired": [orders[0][0]["name"], orders[2][0]["name"]],
                    "skipped": [first["name"]], "failed": []}
    assert site.records().get("sales_order", first["id"])["status"] == "paid"
    assert payment_of(site, first)["status"] == "succeeded"
    check_money(site, shop, [o for o, _ in orders])
    # the expiry's own action cannot cancel a paid order at all, whoever asks for it
    with pytest.raises(api.Conflict, match="'expire' is not possible there"):
        api.act(site.records(api.SYSTEM), "sales_order", first["id"], "expire",
                comment="not paid in time")


def test_a_payment_after_the_order_expired_is_recorded_for_refund(site, shop, client, ann):
    (order, paying), = _started(site, shop, client, ann, 1)
    assert expire(site)["expired"] == [order["name"]]
    late = callback(client, site, paying["payment"], "T-after", paying["amount"])
    assert late.status_code == 200
    assert late.json == {"status": "paid_but_order_cancelled", "payment": paying["payment"],
                         "order": order["name"]}
    payment = payment_of(site, order)
    assert (payment["status"], payment["provider_txn"]) == ("refunded", "T-after")
    again = callback(client, site, paying["payment"], "T-after", paying["amount"])
    assert again.json["status"] == "already_processed"
    check_money(site, shop, [order])


@pytest.fixture
def pg(postgres_db_url: str, tmp_path: Path):  # noqa: ANN201
    site = make_site(postgres_db_url, tmp_path)
    try:
        shop = build_shop(site)
        app = create_app(site=site)
        app.config.update(YITI_WRITE_SLOTS=16, YITI_WRITE_WAIT=60)
        ann, clerk = _ann_and_clerk(site)
        yield site, shop, app, ann, clerk
    finally:
        site.close()


@pytest.mark.postgres_only
def test_expiry_runs_racing_payments_and_cancels_never_cancel_a_paid_order(pg):
    """Two expiry runs at once, the provider's callbacks for half the orders and the
    customer cancelling others, all released together, round after round."""
    site, shop, app, ann, _ = pg
    client = app.test_client()
    everything: list[dict[str, Any]] = []
    for round_no in range(4):
        orders = _started(site, shop, client, ann, 8)
        everything += [o for o, _ in orders]
        paid_by = {o["name"]: p for o, p in orders[::2]}  # every other order gets paid
        cancelled_by_ann = [o for o, _ in orders[1::4]]
        calls: list[Callable[[], Any]] = [lambda: expire(site), lambda: expire(site)]
        calls += [lambda p=p, txn=f"T-{round_no}-{n}": callback(
            app.test_client(), site, p["payment"], txn, p["amount"])
                  for n, p in paid_by.items()]
        calls += [lambda o=o: app.test_client().post(f"{X}/orders/cancel",
                                                    json={"order": o["name"]}, headers=ann)
                  for o in cancelled_by_ann]
        out = together(*calls)
        runs, answers, cancels = out[:2], out[2:2 + len(paid_by)], out[2 + len(paid_by):]
        for run in runs:
            assert isinstance(run, dict), run  # no run stopped at an order moved meanwhile
            assert run["failed"] == []
        expired = runs[0]["expired"] + runs[1]["expired"]
        assert len(expired) == len(set(expired))  # each order expired once
        for name, answer in zip(paid_by, answers, strict=True):
            assert answer.status_code == 200, answer.json
            assert answer.json["status"] in PAID_ANSWERS
            status = site.records().get("sales_order", name)["status"]
            assert status == ("paid" if answer.json["status"] == "succeeded" else "cancelled")
            assert not (answer.json["status"] == "succeeded" and name in expired)
        for order, answer in zip(cancelled_by_ann, cancels, strict=True):
            assert answer.status_code in (200, 409), answer.json
            if answer.status_code == 409:
                assert answer.json["detail"] == f"order {order['name']} is cancelled: ask the shop"
                assert order["name"] in expired
        # every order is settled: nothing left pending payment after its reservation
        for order, _ in orders:
            assert site.records().get("sales_order", order["id"])["status"] in (
                "paid", "cancelled")
    check_money(site, shop, everything)


@pytest.mark.postgres_only
def test_a_callback_racing_two_cancels_always_ends_documented(pg):
    """The provider's callback, the customer's cancel and a clerk's cancel at once: the
    callback is never a 409 and its payment never stays pending; the customer's cancel that
    loses is the documented 409, never a 403."""
    site, shop, app, ann, clerk = pg
    client = app.test_client()
    everything = []
    for round_no in range(12):
        ((order, paying),) = _started(site, shop, client, ann, 1)
        everything.append(order)
        name, txn = order["name"], f"T-r{round_no}"
        pay, mine, staff = together(
            lambda p=paying, txn=txn: callback(app.test_client(), site, p["payment"], txn,
                                               p["amount"]),
            lambda name=name: app.test_client().post(f"{X}/orders/cancel",
                                                     json={"order": name}, headers=ann),
            lambda name=name: app.test_client().post(f"{X}/orders/cancel_any", json={
                "order": name, "reason": "out of stock"}, headers=clerk))
        assert pay.status_code == 200, pay.json
        assert pay.json["status"] in PAID_ANSWERS
        assert mine.status_code in (200, 409), mine.json
        # the clerk read the order before acting: told it changed (409) when it did
        assert staff.status_code in (200, 409), staff.json
        assert [mine.status_code, staff.status_code].count(200) <= 1  # cancelled once
        if mine.status_code == 409:
            assert mine.json["detail"] in (f"order {name} is paid: ask the shop",
                                           f"order {name} is cancelled: ask the shop")
        final = site.records().get("sales_order", order["id"])
        payment = payment_of(site, order)
        assert payment["provider_txn"] == txn  # recorded, whoever won
        if pay.json["status"] == "paid_but_order_cancelled":  # a cancel came first
            assert [mine.status_code, staff.status_code].count(200) == 1
            assert (final["status"], payment["status"]) == ("cancelled", "refunded")
            assert [h[0] for h in flow(client, clerk, order)] == ["place", "cancel"]
        elif final["status"] == "paid":  # paid first, and the clerk's cancel was stale
            assert (mine.status_code, staff.status_code) == (409, 409)
            assert mine.json["detail"] == f"order {name} is paid: ask the shop"
            assert payment["status"] == "succeeded"
        else:  # paid first, then the clerk cancelled the paid order: refund due
            assert staff.status_code == 200 and mine.status_code == 409
            assert payment["status"] == "refunded"
            assert [h[0] for h in flow(client, clerk, order)] == ["place", "pay", "cancel"]
    check_money(site, shop, everything)


@pytest.mark.postgres_only
def test_the_same_callback_delivered_twice_at_once_is_processed_once(pg):
    site, shop, app, ann, clerk = pg
    client = app.test_client()
    orders = _started(site, shop, client, ann, 10)
    for order, paying in orders:
        answers = together(*[lambda p=paying, o=order: callback(
            app.test_client(), site, p["payment"], f"T-{o['name']}", p["amount"])] * 2)
        assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
        assert sorted(a.json["status"] for a in answers) == ["already_processed", "succeeded"]
        assert [h[0] for h in flow(client, clerk, order)] == ["place", "pay"]
        payment = payment_of(site, order)
        assert (payment["status"], payment["provider_txn"]) == ("succeeded", f"T-{order['name']}")
    check_money(site, shop, [o for o, _ in orders])


@pytest.mark.postgres_only
def test_a_failure_notice_racing_a_success_never_loses_the_payment(pg):
    """The provider reports a failed attempt and a succeeded one of the same payment at
    once: both are answered 200 as if they came one by one, and the order is paid."""
    site, shop, app, ann, clerk = pg
    client = app.test_client()
    orders = _started(site, shop, client, ann, 10)
    for order, paying in orders:
        failed, ok = together(
            lambda p=paying, o=order: callback(app.test_client(), site, p["payment"],
                                               f"F-{o['name']}", p["amount"], status="failed"),
            lambda p=paying, o=order: callback(app.test_client(), site, p["payment"],
                                               f"S-{o['name']}", p["amount"]))
        assert (failed.status_code, ok.status_code) == (200, 200), (failed.json, ok.json)
        assert ok.json["status"] == "succeeded"
        assert failed.json["status"] in ("failed", "ignored")  # came first, or after
        payment = payment_of(site, order)
        assert (payment["status"], payment["provider_txn"]) == ("succeeded", f"S-{order['name']}")
        assert [h[0] for h in flow(client, clerk, order)] == ["place", "pay"]
    check_money(site, shop, [o for o, _ in orders])
