"""Values made JSON-safe for job payloads, webhook bodies and results."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any


def default(value: Any) -> Any:
    """``json.dumps(default=...)``: decimals as strings (exact), dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} values can't be sent as JSON")


def dumps(value: Any) -> str:
    return json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":"))


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (a round trip through :func:`dumps`)."""
    return json.loads(dumps(value))
