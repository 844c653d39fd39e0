"""The commerce API in the OpenAPI document: every endpoint declares what it takes and
answers, real answers match it, and schemathesis finds no 5xx and no contradiction."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from yiti.site import Site
from yiti.web.app import create_app

from ..openapi_fuzz import fuzz
from .conftest import START

X = "/api/v1/x/commerce"
ENDPOINTS = {  # path below X: methods
    "cart": {"get"}, "cart/add": {"post"}, "cart/update": {"post"}, "cart/remove": {"post"},
    "cart/coupon": {"post"}, "cart/quote": {"post"}, "checkout": {"post"},
    "orders": {"get"}, "order": {"get"}, "orders/pay": {"post"}, "orders/cancel": {"post"},
    "payments/test/callback": {"post"}, "orders/place": {"post"},
    "orders/allocate": {"post"}, "orders/ship": {"post"}, "orders/complete": {"post"},
    "orders/cancel_any": {"post"}, "stock/allocate": {"post"},
    "catalogue/products": {"get"}, "catalogue/product": {"get"},
}
CREATED = {"checkout", "orders/pay", "orders/place"}  # the rest answer 200


@pytest.fixture
def app(site: Site) -> Flask:
    return create_app(site=site)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def doc(client: FlaskClient) -> dict:
    return client.get("/api/v1/openapi.json").json


@pytest.fixture
def ann(token, shop) -> dict[str, str]:
    """A customer who also manages the shop: every commerce endpoint is open to her."""
    return token("ann", "Customer", "Shop Manager", customer="ANN")


def operation(doc: dict, path: str, method: str = "post") -> dict:
    return doc["paths"][f"{X}/{path}"][method]


def body_schema(doc: dict, path: str) -> dict:
    return operation(doc, path)["requestBody"]["content"]["application/json"]["schema"]


def documented(doc: dict, response: Any) -> dict:
    """The document's description of the answer's status for the request it answers: an
    endpoint answering a status it did not declare fails here, not in a client."""
    path = response.request.path
    op = doc["paths"][path][response.request.method.lower()]
    status = str(response.status_code)
    assert status in op["responses"], (path, status, sorted(op["responses"]), response.json)
    return op["responses"][status]


def conforms(doc: dict, path: str, response: Any, method: str = "post") -> Any:
    """The answer's body, after checking its status and body against the document."""
    assert response.status_code < 300, (path, response.status_code, response.json)
    assert response.request.path == f"{X}/{path}"
    assert response.request.method.lower() == method
    declared = documented(doc, response)["content"]["application/json"]["schema"]
    Draft202012Validator({**declared, "components": doc["components"]}).validate(
        response.json)
    return response.json


def refused(doc: dict, response: Any, status: int = 422) -> dict[str, str]:
    """The fields a problem+json refusal names, with their messages."""
    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    assert documented(doc, response) == {"$ref": "#/components/responses/problem"}
    return {e["field"]: e["message"] for e in response.json.get("errors") or []}


def test_every_endpoint_declares_its_request_and_answer(doc: dict) -> None:
    ours = {p[len(X) + 1:]: set(item) for p, item in doc["paths"].items()
            if p.startswith(f"{X}/")}
    assert ours == ENDPOINTS
    for path, methods in ENDPOINTS.items():
        for method in methods:
            op = operation(doc, path, method)
            successes = [s for s in op["responses"] if s.startswith("2")]
            assert successes == ["201" if path in CREATED else "200"], (path, successes)
            answer = op["responses"][successes[0]]["content"]["application/json"]["schema"]
            assert answer, f"{path}: no answer schema"
            if method == "post":
                assert body_schema(doc, path)["properties"], f"{path}: no request schema"
            elif path != "orders":  # takes no parameters
                assert op["parameters"], f"{path}: no query parameters"
            assert op["responses"]["422"] == {"$ref": "#/components/responses/problem"}

    add = body_schema(doc, "cart/add")
    assert add["required"] == ["sku"] and add["additionalProperties"] is False
    assert add["properties"]["qty"] == {"type": "integer", "minimum": 0, "maximum": 999,
                                        "description": "default 1"}
    assert body_schema(doc, "cart/update")["required"] == ["sku", "qty"]
    assert body_schema(doc, "orders/ship")["properties"]["carrier"]["enum"][:2] == ["sf", "jd"]
    assert body_schema(doc, "orders/place")["required"] == ["customer", "lines"]
    placed = operation(doc, "checkout")["responses"]["201"]["content"]["application/json"][
        "schema"]["allOf"]
    assert placed[0] == {"$ref": "#/components/schemas/sales_order"}
    assert placed[1]["properties"]["payment"]["required"] == [
        "payment", "amount", "status", "provider"]
    assert body_schema(doc, "checkout")["properties"]["pay"]["enum"] == ["test", None]
    assert operation(doc, "order", "get")["parameters"] == [
        {"name": "name", "in": "query", "required": True,
         "schema": {"type": "string", "minLength": 1,
                    "description": "the order's name (SO-...)"}}]
    callback = operation(doc, "payments/test/callback")
    assert callback["security"] == []
    assert body_schema(doc, "payments/test/callback")["required"] == [
        "payment", "transaction_id", "amount"]
    assert "Shop Manager" in operation(doc, "orders/ship")["description"]
    money = operation(doc, "orders/pay")["responses"]["201"]["content"]["application/json"][
        "schema"]["properties"]["amount"]
    assert money["type"] == "string" and money["pattern"]


def test_each_endpoint_lists_the_errors_it_answers(doc: dict) -> None:
    """The errors the handler raises, and those the engine adds: 401/403 with a user,
    404 behind roles, 409 on a user's POST (Idempotency-Key), 429 on writes, 422 always."""
    def errors(path: str, method: str = "post") -> set[str]:
        return {s for s in operation(doc, path, method)["responses"] if s[0] in "45"}

    assert errors("catalogue/product", "get") == {"404", "422"}  # public, cached
    assert errors("orders", "get") == {"401", "403", "422"}
    assert errors("order", "get") == {"401", "403", "404", "422"}
    assert errors("cart/quote") == {"401", "403", "409", "422", "429"}
    assert errors("payments/test/callback") == {"401", "404", "409", "422", "429"}
    assert errors("orders/ship") == {"401", "403", "404", "409", "422", "429"}
    assert all("400" not in errors(path, method)
               for path, methods in ENDPOINTS.items() for method in methods)


def test_enums_follow_the_fields_they_repeat(site: Site, doc: dict) -> None:
    """A request schema cannot refer to the definitions, so its option lists are copies:
    a carrier or priority added to the entity must be added to the schema too."""
    def options(entity: str, field: str) -> list:
        return [o.value for o in site.model.entities[entity].fields[field].options] + [None]

    ship = body_schema(doc, "orders/ship")["properties"]["carrier"]["enum"]
    assert ship == options("shipment", "carrier")
    for path in ("checkout", "orders/place"):
        assert body_schema(doc, path)["properties"]["priority"]["enum"] == options(
            "sales_order", "priority")


def test_answers_match_the_declared_schemas(site: Site, shop, client: FlaskClient,
                                           doc: dict, ann: dict[str, str]) -> None:
    """A whole shop story, each answer checked against the document."""
    products = conforms(doc, "catalogue/products", client.get(
        f"{X}/catalogue/products", query_string={"channel": "ONLINE"}), "get")
    assert [p["code"] for p in products["data"]] == ["SHIRT", "TEA", "SHOE"]
    detail = conforms(doc, "catalogue/product", client.get(
        f"{X}/catalogue/product", query_string={"code": "SHIRT"}), "get")
    assert detail["skus"][0] == {**detail["skus"][0], "code": "SHIRT-1", "available": 50,
                                 "price": "100.00"}

    assert conforms(doc, "cart", client.get(f"{X}/cart", headers=ann), "get") == {
        "cart": None, "lines": [], "quote": None}
    assert conforms(doc, "cart/quote", client.post(f"{X}/cart/quote", json={},
                                                   headers=ann)) == {}
    conforms(doc, "cart/add", client.post(f"{X}/cart/add", json={"sku": "TEA-1"},
                                          headers=ann))
    cart = conforms(doc, "cart/update", client.post(
        f"{X}/cart/update", json={"sku": "SHIRT-1", "qty": 2, "channel": "ONLINE"},
        headers=ann))
    assert [line["qty"] for line in cart["lines"]] == [1, 2]
    cart = conforms(doc, "cart/remove", client.post(f"{X}/cart/remove",
                                                    json={"sku": "TEA-1"}, headers=ann))
    assert cart["quote"]["grand_total"] == "200.00"
    conforms(doc, "cart/coupon", client.post(f"{X}/cart/coupon", json={"code": None},
                                             headers=ann))
    priced = conforms(doc, "cart/quote", client.post(
        f"{X}/cart/quote", json={"lines": [{"sku": "SHOE-1", "qty": 2}]}, headers=ann))
    assert priced["grand_total"] == "300.00"

    order = conforms(doc, "checkout", client.post(
        f"{X}/checkout", json={"ship_to_name": "Ann", "priority": "express"},
        headers={**ann, "Idempotency-Key": "k-1"}))
    assert order["status"] == "pending_payment" and order["priority"] == "express"
    listed = conforms(doc, "orders", client.get(f"{X}/orders", headers=ann), "get")
    assert [o["name"] for o in listed["data"]] == [order["name"]]
    conforms(doc, "order", client.get(f"{X}/order", query_string={"name": order["name"]},
                                      headers=ann), "get")
    paying = conforms(doc, "orders/pay", client.post(
        f"{X}/orders/pay", json={"order": order["name"]}, headers=ann))
    assert paying["status"] == "pending" and paying["amount"] == "200.00"

    from yiti_packs.commerce.hooks.payments import test_provider

    headers, raw = test_provider(site.records()).callback(
        paying["payment"], "TXN-1", paying["amount"], START)
    done = conforms(doc, "payments/test/callback", client.post(
        f"{X}/payments/test/callback", data=raw, headers=headers))
    assert done == {"status": "succeeded", "payment": paying["payment"],
                    "order": order["name"]}
    again = conforms(doc, "payments/test/callback", client.post(
        f"{X}/payments/test/callback", data=raw, headers=headers))
    assert again["status"] == "already_processed"

    for path, body, status in (
            ("orders/allocate", {"order": order["name"]}, "allocated"),
            ("orders/ship", {"order": order["id"], "carrier": "sf", "tracking_no": "SF1"},
             "shipped"),
            ("orders/complete", {"order": order["name"]}, "completed")):
        assert conforms(doc, path, client.post(f"{X}/{path}", json=body,
                                               headers=ann))["status"] == status

    phoned = conforms(doc, "orders/place", client.post(
        f"{X}/orders/place", json={"customer": "BOB", "channel": "TMALL",
                                   "lines": [{"sku": "TEA-1", "qty": 3}],
                                   "external_id": "TM-1"}, headers=ann))
    assert phoned["grand_total"] == "180.00"
    assert conforms(doc, "orders/cancel_any", client.post(
        f"{X}/orders/cancel_any", json={"order": phoned["name"], "reason": "phoned back"},
        headers=ann))["status"] == "cancelled"
    conforms(doc, "checkout", client.post(f"{X}/cart/add", json={"sku": "TEA-1"},
                                          headers=ann) and client.post(
        f"{X}/checkout", json={}, headers=ann))
    mine = client.get(f"{X}/orders", headers=ann).json["data"][0]
    assert conforms(doc, "orders/cancel", client.post(
        f"{X}/orders/cancel", json={"order": mine["name"]}, headers=ann))["status"] == \
        "cancelled"
    assert conforms(doc, "stock/allocate", client.post(
        f"{X}/stock/allocate", json={"warehouse": "WH-A"}, headers=ann)) == {"changes": 0}


def test_a_request_the_schema_refuses_names_the_field(client: FlaskClient, doc: dict,
                                                      ann: dict[str, str]) -> None:
    assert refused(doc, client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "qty": "2"},
                               headers=ann)) == {"qty": "'2' is not of type 'integer'"}
    assert refused(doc, client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "qty": 1000},
                               headers=ann)) == {"qty": "1000 is greater than the maximum "
                                                        "of 999"}
    assert set(refused(doc, client.post(f"{X}/cart/add", json={"sku": 2**70},
                                   headers=ann))) == {"sku"}  # not the query it became
    assert set(refused(doc, client.post(f"{X}/cart/update", json={}, headers=ann))) == {
        "qty", "sku"}
    # malformed JSON is a 422 naming the body (the engine answers no 400 here)
    assert refused(doc, client.post(f"{X}/cart/add", data=b'{"sku": ', headers={
        **ann, "Content-Type": "application/json"})) == {
        "body": "send a JSON object with Content-Type: application/json"}
    # a misspelt key is refused, not ignored (it would have added the default 1)
    assert refused(doc, client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "quantity": 5},
                               headers=ann)) == {"quantity": "is not a field of this request"}
    assert refused(doc, client.post(f"{X}/cart/add", json={"sku": "SHIRT-1", "chanel": "TMALL"},
                               headers=ann)) == {
        "chanel": "is not a field of this request; did you mean 'channel'?"}
    # the handlers' own refusals still name what is wrong
    assert refused(doc, client.post(f"{X}/cart/add", json={"sku": "NOPE-1"},
                               headers=ann)) == {"sku": "no sku 'NOPE-1'"}
    assert refused(doc, client.post(f"{X}/cart/coupon", json={"code": 7}, headers=ann)) == {
        "code": "7 is not of type 'string', 'null'"}
    assert set(refused(doc, client.post(f"{X}/orders/place", json={
        "customer": "BOB", "lines": ["TEA-1"]}, headers=ann))) == {"lines[0]"}
    assert set(refused(doc, client.get(f"{X}/order", headers=ann))) == {"name"}
    # an order of someone else's, or none, is not found; an unknown carrier is named
    assert refused(doc, client.get(f"{X}/order", query_string={"name": "SO-X"},
                                   headers=ann), 404) == {}
    assert set(refused(doc, client.post(f"{X}/orders/ship", json={
        "order": "SO-X", "carrier": "horse"}, headers=ann))) == {"carrier"}
    # the callback still checks its signature: a well-formed unsigned notice is a 401
    unsigned = client.post(f"{X}/payments/test/callback", json={
        "payment": "PAY-1", "transaction_id": "T-1", "amount": "1.00"})
    assert unsigned.status_code == 401 and unsigned.json["code"] == "bad_signature"
    assert documented(doc, unsigned)


def test_a_refusal_does_not_repeat_a_long_value(client: FlaskClient, doc: dict,
                                               ann: dict[str, str]) -> None:
    """A value too long or of the wrong type is named with its limit or shortened, not
    sent back whole (a megabyte string would come back in the answer and the log)."""
    long_name = "王" * 200_000
    r = client.post(f"{X}/checkout", json={"ship_to_name": long_name}, headers=ann)
    assert refused(doc, r) == {"ship_to_name": "is longer than 80 characters"}
    assert len(r.get_data()) < 2_000
    r = client.post(f"{X}/checkout", json={"notes": list(range(50_000))}, headers=ann)
    message = refused(doc, r)["notes"]
    assert message.endswith("is not of type 'string', 'null'") and "..." in message
    assert len(r.get_data()) < 2_000
    assert refused(doc, client.post(f"{X}/orders/place", json={
        "customer": "BOB", "lines": []}, headers=ann)) == {"lines": "must not be empty"}


def test_an_unknown_value_is_named_by_the_request_key_it_came_in(
        client: FlaskClient, doc: dict, ann: dict[str, str]) -> None:
    """Not by the entity it was looked up in (``sales_order``, ``product_category``)."""
    for path in ("orders/allocate", "orders/complete", "orders/cancel_any"):
        assert refused(doc, client.post(f"{X}/{path}", json={"order": "SO-X"},
                                        headers=ann)) == {"order": "no sales_order 'SO-X'"}
    assert refused(doc, client.post(f"{X}/orders/ship", json={
        "order": "SO-X", "carrier": "sf", "tracking_no": "SF1"}, headers=ann)) == {
        "order": "no sales_order 'SO-X'"}
    assert refused(doc, client.post(f"{X}/cart/quote", json={"lines": [
        {"sku": "TEA-1", "qty": 1}, {"sku": "NOPE-1", "qty": 1}]}, headers=ann)) == {
        "lines[1].sku": "no sku 'NOPE-1'"}
    assert refused(doc, client.post(f"{X}/orders/place", json={
        "customer": "BOB", "lines": [{"sku": "NOPE-1", "qty": 1}]}, headers=ann)) == {
        "lines[0].sku": "no sku 'NOPE-1'"}
    assert refused(doc, client.get(f"{X}/catalogue/products", query_string={
        "channel": "ONLINE", "category": "NOPE"})) == {
        "category": "no product_category 'NOPE'"}


@pytest.mark.timeout(120)
def test_schemathesis_over_the_commerce_api(app: Flask, ann: dict[str, str]) -> None:
    """No 5xx, and no status, content type or body the document does not declare."""
    run = fuzz(app, ann, max_examples=30, select=lambda path: path.startswith(f"{X}/"))
    assert len(run.operations) == sum(len(m) for m in ENDPOINTS.values())
    assert not run.failures, run.report()
    assert {200, 401, 404, 422} <= set(run.statuses), sorted(set(run.statuses))
