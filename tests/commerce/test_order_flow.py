"""The order status flow (workflows/sales_order.yaml) over HTTP with real roles: staff
allocate, ship and complete through ``/api/v1/sales_order/<id>/actions/<action>`` and the
buttons on the order's page; roles without the right get 403, a wrong state 409, a missing
input 422 naming it; cancelling releases the stock; every move is in the history."""

from __future__ import annotations

import sys
from decimal import Decimal as D
from html.parser import HTMLParser

import pytest

from .conftest import START, ledger_balances, level
from .test_checkout import X, callback, checkout, place

A = "/api/v1/sales_order"


def act(client, headers, order, action, **body):
    return client.post(f"{A}/{order['id']}/actions/{action}", json=body, headers=headers)


def paid(site, shop, client, ann, qty=2):
    """An order placed and paid through the signed payment callback."""
    order = place(site, shop, qty=qty)
    paying = client.post(f"{X}/orders/pay", json={"order": order["name"]}, headers=ann).json
    done = callback(client, site, paying["payment"], f"T-{order['name']}", paying["amount"])
    assert done.json["status"] == "succeeded", done.json
    return site.records().get("sales_order", order["id"])


def flow(client, headers, order):
    body = client.get(f"{A}/{order['id']}/workflow", headers=headers).json
    return [(h["action"], h["from_state"], h["to_state"], h["user"]) for h in body["history"]]


def test_staff_allocate_ship_and_complete_through_the_action_endpoint(site, shop, client, ann,
                                                                      staff):
    order = paid(site, shop, client, ann)
    panel = client.get(f"{A}/{order['id']}/workflow", headers=staff).json
    assert panel["state"] == "paid"
    assert {a["action"] for a in panel["actions"]} == {"allocate", "ship", "cancel"}
    ship = next(a for a in panel["actions"] if a["action"] == "ship")
    assert [(i["name"], i["required"]) for i in ship["inputs"]] == [
        ("carrier", True), ("tracking_no", True)]

    missing = act(client, staff, order, "ship", carrier="sf")
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json["errors"]] == ["tracking_no"]
    assert "required to Ship" in missing.json["errors"][0]["message"]
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["reserved"] == 2  # nothing moved

    allocated = act(client, staff, order, "allocate")
    assert allocated.status_code == 200 and allocated.json["status"] == "allocated"
    shipped = act(client, staff, order, "ship", carrier="sf", tracking_no="SF1001")
    assert shipped.status_code == 200, shipped.json
    body = shipped.json
    assert body["status"] == "shipped" and body["shipped_at"]
    assert [line["reserved_qty"] for line in body["lines"]] == [0]
    (shipment,) = site.records().list("shipment", filters=[
        ("sales_order", "=", order["id"])]).rows
    assert (shipment["carrier"], shipment["tracking_no"]) == ("sf", "SF1001")
    shirt = level(site, shop["SHIRT-1"], shop["WH-A"])
    assert (shirt["on_hand"], shirt["reserved"], shirt["available"]) == (48, 0, 48)
    again = act(client, staff, order, "ship", carrier="sf", tracking_no="SF1002")
    assert again.status_code == 409 and "Shipped" in again.json["detail"]

    completed = act(client, staff, order, "complete")
    assert completed.status_code == 200 and completed.json["status"] == "completed"
    assert completed.json["completed_at"]
    assert flow(client, staff, order) == [
        ("place", "draft", "pending_payment", "system"),
        ("pay", "pending_payment", "paid", "system"), ("allocate", "paid", "allocated", "olga"),
        ("ship", "allocated", "shipped", "olga"), ("complete", "shipped", "completed", "olga")]
    history = client.get(f"{A}/{order['id']}/workflow", headers=staff).json["history"]
    assert all(h["at"] for h in history)
    ledger_balances(site)


def sign_in(client, name):
    page = client.get("/auth/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = client.post("/auth/login", data={"name": name, "password": f"{name}-password-1",
                                              "csrf_token": csrf})
    assert signed.status_code == 302, signed.text


def test_the_history_starts_with_the_placement(site, shop, client, ann, staff):
    client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "qty": 2}, headers=ann)
    made = checkout(client, ann)
    assert made.status_code == 201, made.json
    order = made.json
    assert (order["status"], order["version"]) == ("pending_payment", 1)  # one write
    body = client.get(f"{A}/{order['id']}/workflow", headers=staff).json
    (placed,) = body["history"]
    assert (placed["action"], placed["from_state"], placed["to_state"], placed["user"],
            placed["on_behalf_of"]) == ("place", "draft", "pending_payment", "system", "ann")
    assert placed["at"] == START.isoformat() and placed["version"] == 1
    # the customer sees it too, on her own order
    mine = client.get(f"{A}/{order['id']}/workflow", headers=ann).json["history"]
    assert [(h["action"], h["on_behalf_of"]) for h in mine] == [("place", "ann")]
    # staff placing a phone order are named the same way
    phoned = client.post(f"{X}/orders/place", json={
        "channel": "ONLINE", "customer": "BOB", "lines": [{"sku": "SHIRT-1", "qty": 1}]},
        headers=staff)
    assert phoned.status_code == 201, phoned.json
    history = client.get(f"{A}/{phoned.json['id']}/workflow", headers=staff).json["history"]
    assert [(h["action"], h["user"], h["on_behalf_of"]) for h in history] == [
        ("place", "system", "olga")]
    # and the order's page shows it
    sign_in(client, "olga")
    html = client.get(f"/app/sales_order/{order['id']}").text
    entry = html.split('<li class="border-bottom py-1" data-action="place">', 1)[1]
    entry = entry.split("</li>", 1)[0]
    assert "system</strong> (for ann)" in entry and "Draft → Pending payment" in entry


def test_placing_needs_every_line_reserved(site, shop):
    """The place action's condition: an order whose stock is not reserved is not placed
    (409), and nothing is written."""
    from yiti import api
    from yiti.errors import Conflict

    records = site.records()
    line = {"sku": shop["SHIRT-1"], "qty": 2, "unit_price": "100.00", "reserved_qty": 0}
    values = {"channel": shop["ONLINE"], "customer": shop["ANN"], "lines": [line]}
    with pytest.raises(Conflict, match="every line's stock must be reserved first"):
        api.create_with_action(records, "sales_order", values, "place")
    assert records.count("sales_order").value == 0
    placed = api.create_with_action(records, "sales_order", {
        **values, "lines": [{**line, "reserved_qty": 2}]}, "place")
    assert (placed["status"], placed["version"]) == ("pending_payment", 1)
    assert [h["action"] for h in records.history("sales_order", placed["id"])] == ["create"]


def line_body(line, **changes):
    """An order line as a client sends it back: what it read, formula fields left out."""
    keep = {k: v for k, v in line.items() if k not in ("gross", "amount", "tax_amount")}
    return {**keep, **changes}


@pytest.mark.parametrize("role", ["Order Clerk", "Shop Assistant", "Shop Manager"])
def test_a_placed_orders_lines_are_locked(site, shop, client, ann, token, role):
    """Placed and awaiting payment, the lines, prices, customer and channel are what was
    reserved, priced and is being paid: ordinary updates may not change them."""
    who = token("pat", role)
    order = place(site, shop, qty=2)
    line = order["lines"][0]
    url = f"{A}/{order['id']}"
    # A line's discount is read-only in every state (pricing sets it); the rest is locked
    # by the order's state.
    refusals = [
        ({"lines": [line_body(line, qty=5)]}, ["lines[0].qty"], "workflow_locked"),
        ({"lines": [{"id": line["id"], "unit_price": "1.00"}]}, ["lines[0].unit_price"],
         "workflow_locked"),
        ({"lines": [line_body(line, discount="90.00")]}, ["lines[0].discount"], "read_only"),
        ({"lines": [line_body(line), {"sku": shop["TEA-1"], "qty": 1, "unit_price": "60.00"}]},
         ["lines"],
         "workflow_locked"),
        ({"customer": shop["BOB"], "channel": shop["TMALL"]}, ["channel", "customer"],
         "workflow_locked"),
        ({"shipping_fee": "0.01"}, ["shipping_fee"], "workflow_locked"),
    ]
    for body, fields, code in refusals:
        refused = client.patch(url, json={**body, "version": order["version"]}, headers=who)
        assert refused.status_code == 422, (body, refused.json)
        assert [e["field"] for e in refused.json["errors"]] == fields, refused.json
        assert {e["code"] for e in refused.json["errors"]} == {code}
        if code == "workflow_locked":
            assert "while the record is Pending payment" in refused.json["errors"][0]["message"]
        else:
            assert refused.json["errors"][0]["message"] == "is read-only"
    writable = ("channel", "store", "customer", "order_date", "external_id", "priority",
                "coupon_code", "promotions", "shipping_fee", "ship_to_name", "ship_to_phone",
                "ship_to_address", "notes")
    shown = client.get(url, headers=who).json
    put = client.put(url, json={**{k: shown[k] for k in writable}, "version": shown["version"],
                                "lines": [line_body(shown["lines"][0], unit_price="50.00")]},
                     headers=who)
    assert put.status_code == 422 and [e["field"] for e in put.json["errors"]] == [
        "lines[0].unit_price"], put.json
    after = site.records().get("sales_order", order["id"])
    assert after == order  # unchanged, version included
    # the delivery details and notes may change; lines sent back (even without their
    # read-only fields, as a form does) stay as they were
    saved = client.patch(url, json={"notes": "leave at the door", "ship_to_address": "1 Road",
                                    "lines": [{"id": line["id"], "sku": line["sku"], "qty": 2,
                                               "unit_price": "100.00"}],
                                    "version": order["version"]}, headers=who)
    assert saved.status_code == 200, saved.json
    assert (saved.json["notes"], saved.json["ship_to_address"]) == ("leave at the door",
                                                                     "1 Road")
    assert saved.json["lines"][0]["reserved_qty"] == 2
    assert saved.json["lines"][0]["list_price"] == "100.00"
    assert D(saved.json["grand_total"]) == order["grand_total"] == D("200.00")


def test_placing_records_where_the_stock_came_from_though_the_lines_are_locked(site, shop,
                                                                              monkeypatch):
    """The channel's allocation guessed when pricing was taken meanwhile: the line is
    reserved from free stock and placing records so, in the pending-payment state that
    locks the lines (the correction is the placement's own effect)."""
    from yiti_packs.commerce.hooks.stock import allocate

    r = site.records()
    r.create("stock_allocation", {"channel": shop["TMALL"], "warehouse": shop["WH-A"],
                                  "mode": "fixed", "quantity": 20})
    allocate(r)
    (row,) = r.list("channel_stock", filters=[("channel", "=", shop["TMALL"]),
                                              ("sku", "=", shop["TEA-1"])]).rows
    orders = sys.modules["yiti_packs.commerce.hooks.orders"]
    monkeypatch.setattr(orders, "_quota_guess", lambda *a: {shop["TEA-1"]: row["id"]})
    order = place(site, shop, qty=25, sku="TEA-1", channel="TMALL", customer="BOB")
    assert (order["status"], order["lines"][0]["reserved_from"]) == ("pending_payment", "free")
    ledger_balances(site)


def test_a_paid_orders_lines_stay_locked(site, shop, client, ann, staff):
    order = paid(site, shop, client, ann)
    line = order["lines"][0]
    refused = client.patch(f"{A}/{order['id']}", json={
        "lines": [line_body(line, qty=1)], "version": order["version"]}, headers=staff)
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json["errors"]] == [
        ("lines[0].qty", "workflow_locked")]


class FormFields(HTMLParser):
    """The values a browser would send from a page's record form (template rows left
    out)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._open: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        a = dict(attrs)
        name = a.get("name") or ""
        if "__i__" in name or name.endswith(".search") or name == "next":
            name = ""
        if tag == "input" and name:
            self.values[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._open = name
            self.values[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and ("selected" in a
                                                   or self._select not in self.values):
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        if tag == "textarea":
            self._open = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if self._open:
            self.values[self._open] += data


def test_the_order_form_saves_notes_and_refuses_line_changes(site, shop, client, staff):
    order = place(site, shop, qty=2)
    sign_in(client, "olga")
    edit = f"/app/sales_order/{order['id']}/edit"
    page = client.get(edit).text
    form = FormFields()
    form.feed(page)
    # What the state locks is shown, not offered: no inputs for lines, customer, channel.
    assert not [name for name in form.values if name.startswith(("lines", "customer",
                                                                  "channel"))]
    assert 'data-table="lines"' in page and "notes" in form.values
    # A hand-made post that changes a line is still refused by the workflow guard.
    changed = client.post(edit, data={**form.values, "lines.present": "1",
                                      "lines[0].id": str(order["lines"][0]["id"]),
                                      "lines[0].sku": str(order["lines"][0]["sku"]),
                                      "lines[0].qty": "7"})
    assert changed.status_code == 422
    assert "cannot be changed while the record is Pending payment" in changed.text
    assert site.records().get("sales_order", order["id"])["lines"][0]["qty"] == 2
    saved = client.post(edit, data={**form.values, "notes": "gift wrap"})
    assert saved.status_code == 302, saved.text
    after = site.records().get("sales_order", order["id"])
    assert after["notes"] == "gift wrap"
    kept = ("id", "sku", "qty", "list_price", "unit_price", "discount", "tax_rate",
            "warehouse", "reserved_qty", "reserved_from", "promotion")
    assert [{k: x[k] for k in kept} for x in after["lines"]] == [
        {k: x[k] for k in kept} for x in order["lines"]]


def test_the_carrier_is_one_of_the_shipments_carriers(site, shop, client, ann, staff):
    """The ship action's carrier input is ``like: shipment.carrier``: its options are the
    shipment field's, listed once."""
    order = paid(site, shop, client, ann)
    panel = client.get(f"{A}/{order['id']}/workflow", headers=staff).json
    carrier = next(i for a in panel["actions"] if a["action"] == "ship"
                   for i in a["inputs"] if i["name"] == "carrier")
    field = site.model.entities["shipment"].fields["carrier"]
    assert (carrier["type"], carrier["label"], carrier["required"]) == ("select", "Carrier",
                                                                        True)
    assert [(o["value"], o["label"]) for o in carrier["options"]] == [
        (o.value, o.label["en"]) for o in field.options]
    doc = client.get("/api/v1/openapi.json").json
    body = doc["paths"]["/api/v1/sales_order/{id}/actions/ship"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]["properties"]["carrier"]
    assert schema["enum"] == [o.value for o in field.options]
    refused = act(client, staff, order, "ship", carrier="dhl", tracking_no="DHL1")
    assert refused.status_code == 422, refused.json
    assert [e["field"] for e in refused.json["errors"]] == ["carrier"]
    assert "dhl" in refused.json["errors"][0]["message"]
    assert site.records().get("sales_order", order["id"])["status"] == "paid"
    shipped = act(client, staff, order, "ship", carrier="ems", tracking_no="EMS1")
    assert shipped.status_code == 200, shipped.json
    assert site.records().list("shipment").rows[0]["carrier"] == "ems"


def test_roles_without_the_right_are_refused_with_403(site, shop, client, ann, staff, token):
    order = paid(site, shop, client, ann)
    assistant = token("sam", "Shop Assistant")
    assert client.get(f"{A}/{order['id']}", headers=assistant).status_code == 200
    assert client.get(f"{A}/{order['id']}/workflow", headers=assistant).json["actions"] == []
    for action, body in (("ship", {"carrier": "sf", "tracking_no": "SF1"}),
                         ("allocate", {}), ("cancel", {"comment": "no"})):
        refused = act(client, assistant, order, action, **body)
        assert refused.status_code == 403, (action, refused.json)
        assert refused.json["code"] == "forbidden"
    # paying is the verified callback's, not staff's; a customer can't cancel a paid order
    pending = place(site, shop, customer="BOB")
    assert act(client, staff, pending, "pay", paid_amount="200.00").status_code == 403
    assert act(client, ann, order, "cancel").status_code == 403
    assert site.records().get("sales_order", order["id"])["status"] == "paid"
    # the warehouse may allocate and ship, though it can only read orders
    keeper = token("kim", "Stock Manager")
    assert act(client, keeper, order, "allocate").json["status"] == "allocated"
    assert flow(client, staff, order)[-1] == ("allocate", "paid", "allocated", "kim")


def test_shipping_a_cancelled_order_gives_409(site, shop, client, ann, staff):
    order = place(site, shop, qty=3)
    no_reason = act(client, staff, order, "cancel")
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "comment"
    cancelled = act(client, staff, order, "cancel", comment="out of the customer's area")
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["cancel_reason"] == "out of the customer's area"
    refused = act(client, staff, order, "ship", carrier="sf", tracking_no="SF1")
    assert refused.status_code == 409 and refused.json["code"] == "conflict"
    assert "Cancelled" in refused.json["detail"]
    assert site.records().count("shipment").value == 0
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["on_hand"] == 50


def test_cancel_releases_the_stock_and_marks_the_payment_for_refund(site, shop, client, ann,
                                                                    staff):
    order = paid(site, shop, client, ann, qty=4)
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["available"] == 46
    done = act(client, staff, order, "cancel", comment="customer phoned to cancel")
    assert done.status_code == 200 and done.json["status"] == "cancelled"
    assert done.json["cancelled_at"] and [x["reserved_qty"] for x in done.json["lines"]] == [0]
    row = level(site, shop["SHIRT-1"], shop["WH-A"])
    assert (row["on_hand"], row["reserved"], row["available"]) == (50, 0, 50)
    (payment,) = site.records().list("payment", filters=[("sales_order", "=", order["id"])]).rows
    assert payment["status"] == "refunded"
    ledger_balances(site)
    body = client.get(f"{A}/{order['id']}/workflow", headers=staff).json
    assert [(h["action"], h["from_state"], h["to_state"], h["user"], h["comment"])
            for h in body["history"]][-1] == (
        "cancel", "paid", "cancelled", "olga", "customer phoned to cancel")
    again = act(client, staff, order, "cancel", comment="twice")
    assert again.status_code == 409


def test_a_customer_cancels_an_unpaid_order_of_their_own(site, shop, client, ann, token):
    order = place(site, shop, qty=2)
    bob = token("bob", "Customer", customer="BOB")
    assert act(client, bob, order, "cancel").status_code == 404  # not Bob's to see
    mine = act(client, ann, order, "cancel", comment="changed my mind")
    assert mine.status_code == 200 and mine.json["status"] == "cancelled"
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["available"] == 50
    assert flow(client, ann, order) == [("place", "draft", "pending_payment", "system"),
                                        ("cancel", "pending_payment", "cancelled", "ann")]


def test_a_failing_stock_effect_leaves_the_order_as_it_was(site, shop, client, ann, staff,
                                                          monkeypatch):
    from yiti.errors import ValidationError

    order = paid(site, shop, client, ann)
    orders = sys.modules["yiti_packs.commerce.hooks.orders"]

    def broken(records, moves):  # noqa: ANN001, ANN202
        raise ValidationError("the ledger is closed for maintenance", field="lines")

    monkeypatch.setattr(orders, "post", broken)
    refused = act(client, staff, order, "ship", carrier="jd", tracking_no="JD1")
    assert refused.status_code == 422 and "maintenance" in refused.json["detail"]
    after = site.records().get("sales_order", order["id"])
    assert (after["status"], after["version"]) == ("paid", order["version"])
    assert site.records().count("shipment").value == 0
    assert [h[0] for h in flow(client, staff, order)] == ["place", "pay"]


def test_expiry_cancels_through_the_workflow(site, shop, client, staff):
    order = place(site, shop, qty=4)
    site.jobs.tick()
    site.jobs.clock.advance(minutes=31)
    site.jobs.tick()
    site.jobs.drain()
    assert site.records().get("sales_order", order["id"])["status"] == "cancelled"
    body = client.get(f"{A}/{order['id']}/workflow", headers=staff).json
    placed, entry = body["history"]
    assert placed["action"] == "place"
    assert (entry["action"], entry["user"]) == ("expire", "system")
    assert "expired" in entry["comment"]
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["available"] == 50
    ledger_balances(site)


def test_the_order_page_offers_the_buttons(site, shop, client, ann, staff):
    order = paid(site, shop, client, ann)
    page = client.get("/auth/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    signed = client.post("/auth/login", data={"name": "olga", "password": "olga-password-1",
                                              "csrf_token": csrf})
    assert signed.status_code == 302, signed.text
    html = client.get(f"/app/sales_order/{order['id']}").text
    assert 'yiti-wf-action" data-action="ship"' in html and 'name="tracking_no"' in html
    assert 'yiti-wf-action" data-action="pay"' not in html  # the system's
    csrf = client.get("/api/v1/_me").json["csrf_token"]
    done = client.post(f"/workflow/act/sales_order/{order['id']}/ship", data={
        "csrf_token": csrf, "version": order["version"], "carrier": "zto",
        "tracking_no": "ZT77", "next": f"/app/sales_order/{order['id']}"})
    assert done.status_code == 302
    shipped = site.records().get("sales_order", order["id"])
    assert shipped["status"] == "shipped"
    assert site.records().list("shipment").rows[0]["carrier"] == "zto"


@pytest.mark.postgres_only
def test_ship_and_cancel_at_the_same_moment(postgres_db_url, tmp_path):
    """Two clerks act on the same paid orders at once: one action wins, the other is
    refused as a conflict, and the stock moved exactly once."""
    import threading

    from yiti.permissions import tokens, users
    from yiti.web.app import create_app

    from .conftest import build_shop, make_site

    site = make_site(postgres_db_url, tmp_path)
    try:
        shop = build_shop(site)
        app = create_app(site=site)
        app.config.update(YITI_WRITE_SLOTS=4, YITI_WRITE_WAIT=30)
        client = app.test_client()
        clerks = []
        for name in ("olga", "oleg"):
            ident = users.create_user(site, name, f"{name}-password-1", roles=["Order Clerk"])
            clerks.append({"Authorization": f"Bearer {tokens.create_token(site, ident, ('*',))[0]}"})
        ann = {"Authorization": "Bearer " + tokens.create_token(site, users.create_user(
            site, "ann", "ann-password-1", roles=["Customer"], attributes={"customer": "ANN"}),
            ("*",))[0]}
        outcomes = []
        for _ in range(6):
            order = paid(site, shop, client, ann)
            barrier = threading.Barrier(2)
            answers: dict[str, int] = {}

            def run(action, headers, body, order=order, barrier=barrier, answers=answers):
                mine = app.test_client()
                barrier.wait()
                answers[action] = act(mine, headers, order, action, **body).status_code

            threads = [threading.Thread(target=run, args=(
                "ship", clerks[0], {"carrier": "sf", "tracking_no": "SF9"})),
                threading.Thread(target=run, args=("cancel", clerks[1], {"comment": "race"}))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(answers.values()) == [200, 409], answers
            final = site.records().get("sales_order", order["id"])
            shipments = site.records().count("shipment", filters=[
                ("sales_order", "=", order["id"])]).value
            winner = "ship" if answers["ship"] == 200 else "cancel"
            assert final["status"] == {"ship": "shipped", "cancel": "cancelled"}[winner]
            assert shipments == (1 if winner == "ship" else 0)
            assert [h[0] for h in flow(client, clerks[0], order)] == ["place", "pay", winner]
            outcomes.append(winner)
        ledger_balances(site)
        shirt = level(site, shop["SHIRT-1"], shop["WH-A"])
        assert shirt["reserved"] == 0
        assert shirt["on_hand"] == 50 - 2 * outcomes.count("ship")
    finally:
        site.close()
