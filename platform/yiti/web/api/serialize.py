"""Records as JSON: decimals and money as strings, datetimes ISO 8601 with an offset.

A decimal as a string keeps every digit (a JSON number is a binary float to most
clients); dates are ``YYYY-MM-DD``; datetimes are stored in UTC and carry ``+00:00``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import Response

from yiti.values import decimal_text

#: Types that are JSON as they are; checked first, by exact type, since they are most of
#: a record's values (``isinstance`` against ``Mapping`` is slow for each of them).
_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_THEY_ARE:
        return value
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if kind is list:
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return None
    return value


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None
                  ) -> Response:
    response = Response(json.dumps(jsonable(data), ensure_ascii=False), status=status,
                        mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def etag(record: Mapping[str, Any]) -> str:
    """The ETag of a record: its version, quoted."""
    return f'"v{record["version"]}"'
