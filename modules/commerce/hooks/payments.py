"""Payment providers and their signed callbacks.

A provider starts a payment (:meth:`Provider.start`: what the client needs to pay) and
later calls us back; :meth:`Provider.verify` checks the callback's signature and time
and returns what it says. The platform then records it once per provider transaction id:
a forged callback (bad signature), an old one (outside the time window) or a replayed one
(a transaction id already recorded) changes nothing.

The **test provider** signs like our webhooks: header ``X-Test-Pay-Signature:
t=<unix time>,v1=<hex>`` with ``v1 = HMAC-SHA256(secret, "<t>." + raw body)``. Its secret
is ``COMMERCE_TEST_PAY_SECRET`` from the environment, else derived from the site's secret
key. Real providers (Alipay, WeChat Pay) implement the same two methods.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from yiti import api

HEADER = "X-Test-Pay-Signature"
TOLERANCE = 300  # seconds either side of our clock


class BadSignature(api.Forbidden):
    code = "bad_signature"
    status = 401


@dataclass(frozen=True)
class Callback:
    """What a verified callback says."""

    payment: str  # our payment's name (PAY-...)
    transaction_id: str  # the provider's id: each is recorded once
    amount: Decimal
    status: str  # succeeded | failed


class Provider(Protocol):
    name: str

    def start(self, payment: dict[str, Any]) -> dict[str, Any]:
        """What the client needs to pay ``payment`` (a URL, a QR code text, ...)."""

    def verify(self, headers: dict[str, str], body: bytes, at: dt.datetime) -> Callback:
        """The callback's content, or :class:`BadSignature`."""


class TestProvider:
    """A provider for tests and demos that signs its callbacks with HMAC-SHA256."""

    name = "test"

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()

    def start(self, payment: dict[str, Any]) -> dict[str, Any]:
        return {"provider": self.name, "payment": payment["name"],
                "amount": payment["amount"],
                "pay_url": f"https://pay.example.test/checkout/{payment['name']}"}

    def sign(self, body: bytes, t: int) -> str:
        mac = hmac.new(self.secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={t},v1={mac}"

    def callback(self, payment: str, transaction_id: str, amount: Decimal | str,
                 at: dt.datetime, status: str = "succeeded") -> tuple[dict[str, str], bytes]:
        """The provider's side: the headers and body of a callback it would send."""
        body = json.dumps({"payment": payment, "transaction_id": transaction_id,
                           "amount": str(amount), "status": status}).encode()
        return {HEADER: self.sign(body, int(at.timestamp())),
                "Content-Type": "application/json"}, body

    def verify(self, headers: dict[str, str], body: bytes, at: dt.datetime) -> Callback:
        header = next((v for k, v in headers.items() if k.lower() == HEADER.lower()), "")
        try:
            parts = dict(p.split("=", 1) for p in header.split(","))
            t = int(parts["t"])
            given = parts["v1"]
        except (KeyError, ValueError):
            raise BadSignature(f"missing or malformed {HEADER} header") from None
        if abs(at.timestamp() - t) > TOLERANCE:
            raise BadSignature("the callback's timestamp is outside the allowed window")
        if not hmac.compare_digest(self.sign(body, t).split("v1=", 1)[1], given):
            raise BadSignature("the callback's signature does not match")
        try:
            data = json.loads(body)
            return Callback(str(data["payment"]), str(data["transaction_id"]),
                            Decimal(str(data["amount"])), str(data.get("status", "succeeded")))
        except (ValueError, KeyError, TypeError, InvalidOperation):
            raise api.ValidationError("the callback's body is not a payment notice",
                                      field="body") from None


def test_provider(records: api.Records) -> TestProvider:
    secret = os.environ.get("COMMERCE_TEST_PAY_SECRET")
    if not secret:
        key = (records.site.settings.secret_key or "yiti").encode()
        secret = hmac.new(key, b"commerce.test_pay", hashlib.sha256).hexdigest()
    return TestProvider(secret)


def start_payment(sys: api.Records, order: dict[str, Any], provider_name: str
                  ) -> dict[str, Any]:
    """A pending payment of the order's total with ``provider_name``, and how to pay it
    (``sys``: the system's record service)."""
    if order["status"] != "pending_payment":
        raise api.Conflict(api.message("order %(order)s is %(status)s: nothing to pay",
                                       order=order["name"], status=order["status"]))
    chosen = provider(sys, provider_name)
    payment = sys.create("payment", {"sales_order": order["id"], "provider": chosen.name,
                                     "amount": order["grand_total"]})
    return {"payment": payment["name"], "amount": payment["amount"],
            "status": payment["status"], "provider": chosen.start(payment)}


def provider(records: api.Records, name: str) -> Provider:
    """The provider called ``name``."""
    if name == "test":
        return test_provider(records)
    raise api.ValidationError(f"no payment provider {name!r} (known: test)", field="provider")
