"""JSON Schemas of the commerce API's requests and answers (``@api.endpoint(request=,
response=)``): they are the OpenAPI document's description of ``/api/v1/x/commerce/...``,
and the engine refuses a request that does not match its schema (422 naming each field)
before the endpoint runs.

Bodies refuse unknown keys, as the records API does, so a misspelt ``"quantity"`` is a 422
rather than silently the default of 1; query parameters (GET) are all strings and may
carry others. Money is a decimal string, as everywhere in the API; quantities are whole
numbers. An order's answer is the ``sales_order`` record schema the engine generates.
"""

from __future__ import annotations

from typing import Any

# As the records API writes decimals (yiti.web.api.openapi.DECIMAL_PATTERN).
MONEY: dict[str, Any] = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                         "description": "a decimal amount as a string"}
NULLABLE_MONEY: dict[str, Any] = {**MONEY, "type": ["string", "null"]}
TEXT: dict[str, Any] = {"type": "string"}
NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
ID: dict[str, Any] = {"type": "integer"}
# Record ids are 64-bit: a larger one is refused naming the request's field, not the
# filter it would have become.
MAX_ID = 2**63 - 1
NULLABLE_ID: dict[str, Any] = {"type": ["integer", "null"]}


def _code_or_id(what: str, *, nullable: bool = False) -> dict[str, Any]:
    """A record given by its code (or name) or its id, as ``common.lookup`` takes it."""
    types = ["string", "integer", "null"] if nullable else ["string", "integer"]
    return {"type": types, "minLength": 1, "minimum": 1, "maximum": MAX_ID,
            "description": f"the {what}'s code or id"}


def _body(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _query(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _answer(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


# Empty or left out: the first active online mall.
CHANNEL: dict[str, Any] = {"type": ["string", "integer", "null"], "minimum": 1,
                           "maximum": MAX_ID, "description": "the channel's code or id"}
SKU = _code_or_id("SKU")
QTY: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 999}
ORDER_NAME: dict[str, Any] = {"type": "string", "minLength": 1,
                              "description": "the order's name (SO-...)"}
ORDER_REF: dict[str, Any] = {"type": ["string", "integer"], "minLength": 1, "minimum": 1,
                             "maximum": MAX_ID, "description": "the order's name (SO-...) or id"}
PRIORITY: dict[str, Any] = {"type": ["string", "null"],
                            "x-yiti-options": "sales_order.priority"}
SHIP_TO: dict[str, Any] = {
    "ship_to_name": {"type": ["string", "null"], "maxLength": 80},
    "ship_to_phone": NULLABLE_TEXT,
    "ship_to_address": NULLABLE_TEXT,
    "notes": NULLABLE_TEXT,
}
#: The lines of an order or a quote sent in the request (``lines[i].qty`` at least 1).
MAX_LINES = 100
ORDER_LINE: dict[str, Any] = _body({"sku": SKU, "qty": {**QTY, "minimum": 1,
                                                        "description": "default 1"}}, "sku")
ORDER_LINES: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": MAX_LINES,
                               "items": ORDER_LINE}

# -- answers -------------------------------------------------------------------------------

QUOTE: dict[str, Any] = _answer({
    "lines": {"type": "array", "items": _answer({
        "line_no": ID, "sku": TEXT, "title": NULLABLE_TEXT, "qty": ID,
        "list_price": MONEY, "unit_price": MONEY, "gross": MONEY, "discount": MONEY,
        "amount": MONEY, "tax": MONEY},
        "line_no", "sku", "qty", "unit_price", "gross", "discount", "amount", "tax")},
    "promotions": {"type": "array", "items": _answer({
        "code": TEXT, "kind": TEXT, "line_no": NULLABLE_ID, "amount": MONEY,
        "explanation": TEXT}, "code", "kind", "line_no", "amount", "explanation")},
    "subtotal": MONEY, "discount_total": MONEY, "shipping_fee": MONEY,
    "grand_total": MONEY, "tax_total": MONEY,
    "coupon_problem": {"type": ["string", "null"],
                       "description": "why the coupon gives nothing, if it does not"},
}, "lines", "promotions", "subtotal", "discount_total", "shipping_fee", "grand_total",
    "tax_total", "coupon_problem")

CART: dict[str, Any] = _answer({
    "cart": {"type": ["integer", "null"], "description": "the cart's id; null: no open cart"},
    "channel": TEXT, "coupon_code": NULLABLE_TEXT,
    "lines": {"type": "array", "items": _answer({"sku": {**ID, "description": "the SKU's id"},
                                                 "qty": ID}, "sku", "qty")},
    "quote": {"anyOf": [QUOTE, {"type": "null"}]},
}, "cart", "lines", "quote")

ORDER: dict[str, Any] = {"$ref": "#/components/schemas/sales_order"}

ORDERS: dict[str, Any] = _answer({"data": {"type": "array", "items": _answer({
    "id": ID, "name": TEXT, "order_date": {"type": "string", "format": "date-time"},
    "status": TEXT, "grand_total": NULLABLE_MONEY,
    "reserved_until": {"type": ["string", "null"], "format": "date-time"}},
    "id", "name", "order_date", "status")}}, "data")

PAYMENT_STARTED: dict[str, Any] = _answer({
    "payment": {"type": "string", "description": "the payment's name (PAY-...), which "
                                                 "the provider's callback carries"},
    "amount": MONEY, "status": {"type": "string", "enum": ["pending"]},
    "provider": {"type": "object", "description": "what the client needs to pay (the test "
                 "provider: provider, payment, amount, pay_url)",
                 "properties": {"pay_url": {"type": "string", "format": "uri"}}},
}, "payment", "amount", "status", "provider")

# A checkout that was asked to start paying (``pay``) answers the order with its payment.
ORDER_AND_PAYMENT: dict[str, Any] = {"allOf": [ORDER, {
    "type": "object", "properties": {"payment": {
        **PAYMENT_STARTED, "description": "with pay only: the payment started, as "
                                          "orders/pay answers it"}}}]}

CALLBACK_DONE: dict[str, Any] = _answer({
    "status": {"type": "string",
               "pattern": "^(succeeded|failed|already_processed|ignored|paid_but_order_[a-z_]+)$",
               "description": "paid_but_order_<status>: recorded, but the order was no "
                              "longer waiting for it (refund it)"},
    "payment": TEXT, "order": TEXT}, "status", "payment")

PRODUCTS: dict[str, Any] = _answer({
    "channel": TEXT,
    "next": {"type": ["string", "null"], "description": "pass as ?after= for the next page"},
    "data": {"type": "array", "items": _answer({
        "code": TEXT, "title": TEXT, "list_price": NULLABLE_MONEY,
        "category": {**NULLABLE_ID, "description": "the category's id"},
        "image": {**NULLABLE_ID, "description": "the main image's file id"}},
        "code", "title", "list_price", "category", "image")},
}, "channel", "next", "data")

PRODUCT: dict[str, Any] = _answer({
    "code": TEXT, "title": TEXT, "description": NULLABLE_TEXT, "image": NULLABLE_ID,
    "images": {"type": "array", "items": NULLABLE_ID},
    "related": {"type": "array", "items": _answer({
        "kind": NULLABLE_TEXT, "product": TEXT, "price": NULLABLE_MONEY},
        "kind", "product", "price")},
    "skus": {"type": "array", "items": _answer({
        "code": TEXT, "title": NULLABLE_TEXT, "colour": NULLABLE_TEXT, "size": NULLABLE_TEXT,
        "list_price": NULLABLE_MONEY, "price": NULLABLE_MONEY, "member_price": NULLABLE_MONEY,
        "available": {"type": "integer", "description": "what the channel can still sell"}},
        "code", "price", "available")},
}, "code", "title", "skus")

# -- requests ------------------------------------------------------------------------------

CART_QUERY = _query({"channel": {"type": "string", "description": "the channel's code"}})
CART_ADD = _body({"sku": SKU, "qty": {**QTY, "description": "default 1"},
                  "channel": CHANNEL}, "sku")
CART_UPDATE = _body({"sku": SKU, "qty": {**QTY, "description": "0 removes the line"},
                     "channel": CHANNEL}, "sku", "qty")
CART_REMOVE = _body({"sku": SKU, "channel": CHANNEL}, "sku")
CART_COUPON = _body({"code": {"type": ["string", "null"],
                              "description": "the coupon's code; null or left out removes it"},
                     "channel": CHANNEL})
CART_QUOTE = _body({
    "lines": {**ORDER_LINES, "minItems": 0,
              "description": "lines to price instead of the cart's"},
    "coupon_code": NULLABLE_TEXT, "channel": CHANNEL})
COUPON_CODE: dict[str, Any] = {"type": ["string", "null"], "maxLength": 40}
CHECKOUT = _body({
    "channel": CHANNEL, "priority": PRIORITY,
    "lines": {**ORDER_LINES, "description": "buy now: order these lines, not the cart's "
                                            "(the cart is left as it is)"},
    "coupon_code": {**COUPON_CODE, "description": "with lines only (the cart keeps its own)"},
    "pay": {"type": ["string", "null"], "enum": ["test", None],
            "description": "start paying with this provider in the same request (the "
                           "answer's payment is orders/pay's); left out: pay later"},
    **SHIP_TO})
NO_PARAMETERS = _query({})
ORDER_QUERY = _query({"name": ORDER_NAME}, "name")
PAY = _body({"order": ORDER_NAME,
             "provider": {"type": ["string", "null"], "enum": ["test", None],
                          "description": "default test"}}, "order")
MY_ORDER = _body({"order": ORDER_NAME}, "order")
# Signed by the provider, which may add keys of its own: those are not refused.
CALLBACK: dict[str, Any] = {
    "type": "object", "required": ["payment", "transaction_id", "amount"],
    "properties": {"payment": {"type": "string", "description": "our payment's name"},
                   "transaction_id": {"type": "string", "minLength": 1},
                   "amount": {"type": ["string", "number"],
                              "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
                   "status": {"type": "string", "description": "succeeded (the default) or "
                                                               "anything else: failed"}}}
STAFF_PLACE = _body({
    "channel": CHANNEL, "customer": _code_or_id("customer"),
    "lines": ORDER_LINES, "coupon_code": COUPON_CODE,
    "priority": PRIORITY, "store": _code_or_id("store", nullable=True),
    "external_id": {"type": ["string", "null"], "maxLength": 80,
                    "description": "the marketplace's order id (unique per channel)"},
    **SHIP_TO}, "customer", "lines")
STAFF_ORDER = _body({"order": ORDER_REF}, "order")
STAFF_SHIP = _body({
    "order": ORDER_REF,
    "carrier": {"type": ["string", "null"], "x-yiti-options": "shipment.carrier",
                "description": "required to ship (422 naming it); an order that can't be "
                               "shipped is a 409 either way"},
    "tracking_no": {"type": ["string", "null"], "maxLength": 60,
                    "description": "required to ship, as carrier"}}, "order")
STAFF_CANCEL = _body({"order": ORDER_REF, "reason": NULLABLE_TEXT}, "order")
RUN_ALLOCATION = _body({"warehouse": _code_or_id("warehouse (default: every one)",
                                                 nullable=True)})
ALLOCATED = _answer({"changes": {"type": "integer", "minimum": 0}}, "changes")
PRODUCTS_QUERY = _query({"channel": TEXT, "category": {"type": "string",
                                                       "description": "a category's code"},
                         "q": {"type": "string", "description": "words of the title"},
                         "after": {"type": "string",
                                   "description": "the previous page's next"}})
PRODUCT_QUERY = _query({"code": {"type": "string", "description": "the product's code"},
                        "channel": TEXT}, "code")
# Without lines and with no cart or an empty one, there is nothing to price: {}.
QUOTE_OR_NOTHING: dict[str, Any] = {"anyOf": [QUOTE, {"type": "object", "maxProperties": 0}]}
