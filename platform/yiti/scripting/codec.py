"""Plain data between the app and script workers: JSON with tagged decimals and dates.

The parent never unpickles anything a worker sends: a worker runs untrusted code, and a
pickle could run code in the web process. JSON can't.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from yiti.scripting.proxies import Doc, FrozenMap, ReadOnlyRecord

MAX_MESSAGE = 16 * 1024 * 1024  # bytes of one message, either way
#: Bytes of one create_record()/update_record() call as sent (its values, encoded): a
#: record a script writes is stored, audited and sent to every reader, so 16 MB of it a
#: call, a thousand calls a run, would be far too much. 1 MB holds a record with lines.
MAX_RECORD_VALUES = 1024 * 1024
#: The calls that write a record's values.
WRITES = frozenset({"create", "update"})

# The record calls a worker may ask the app for, and the script function making each.
CALLS = {
    "get": "get_record", "list": "list_records", "create": "create_record",
    "update": "update_record", "notify": "notify",
}


def encode(value: Any) -> Any:
    """``value`` as JSON-able data; Decimal, dates and mappings with ``$`` keys tagged."""
    t = type(value)
    if value is None or t in (bool, int, str, float):
        return value
    if t is Decimal:
        return {"$decimal": str(value)}
    if t is dt.datetime:
        return {"$datetime": value.isoformat()}
    if t is dt.date:
        return {"$date": value.isoformat()}
    if t is dt.time:
        return {"$time": value.isoformat()}
    if t in (list, tuple):
        return [encode(v) for v in value]
    if t in (ReadOnlyRecord, Doc):
        value = value._values
        t = dict
    if t in (dict, FrozenMap):
        if any(type(k) is not str for k in value):
            raise TypeError("only text keys can be passed between a script and the app")
        if any(k.startswith("$") for k in value):
            return {"$map": [[k, encode(v)] for k, v in value.items()]}
        return {k: encode(v) for k, v in value.items()}
    raise TypeError(f"a {t.__name__} can't be passed between a script and the app")


_TAGS = {
    "$decimal": Decimal,
    "$datetime": dt.datetime.fromisoformat,
    "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat,
}


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        (key, value), = obj.items()
        if key in _TAGS:
            return _TAGS[key](value)
        if key == "$map":
            return dict((k, v) for k, v in value)
    return obj


def dumps(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode()


def loads(data: bytes) -> Any:
    return json.loads(data, object_hook=_hook)
