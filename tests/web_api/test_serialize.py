"""Records as JSON (yiti.web.api.serialize): decimals as strings with every digit, dates
and datetimes in ISO 8601 with an offset, at any depth, keys as text."""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from decimal import Decimal

from yiti.web.api.serialize import json_response, jsonable


def test_values_at_any_depth_become_json():
    at = dt.datetime(2026, 11, 11, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    record = {"total": Decimal("1234.50"), "tiny": Decimal("1E-7"), "qty": 3, "ok": True,
              "none": None, "ratio": 0.5, "name": "订单", "day": dt.date(2026, 11, 11),
              "at": at, "naive": dt.datetime(2026, 1, 1, 0, 0), "raw": b"\x00",
              "lines": [{"price": Decimal("9.90"), "tags": ("a", "b")}],
              "meta": OrderedDict([(1, Decimal("2"))])}
    assert jsonable(record) == {
        "total": "1234.50", "tiny": "0.0000001", "qty": 3, "ok": True, "none": None,
        "ratio": 0.5, "name": "订单", "day": "2026-11-11", "at": "2026-11-11T08:30:00+08:00",
        "naive": "2026-01-01T00:00:00+00:00", "raw": None,
        "lines": [{"price": "9.90", "tags": ["a", "b"]}], "meta": {"1": "2"}}


def test_a_response_carries_the_same(app):
    with app.test_request_context():
        response = json_response({"amount": Decimal("0.10"), "名": "茶"}, 201,
                                 {"Location": "/x"})
    assert response.status_code == 201 and response.headers["Location"] == "/x"
    assert json.loads(response.get_data(as_text=True)) == {"amount": "0.10", "名": "茶"}
    assert "茶" in response.get_data(as_text=True)  # not escaped
