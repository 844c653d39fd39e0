"""Turning input into field values, and checking them against the field's options.

Pure functions: the record service uses them on every write, migrations use them to
convert existing data when a field's type changes, imports use them on every cell. One
parser per field type, in a registry; each raises :class:`ValueProblem` with a message
the user can act on.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from yiti.definitions.model import Field

UTC = dt.UTC


class ValueProblem(ValueError):
    """A value that does not fit its field; ``code`` is stable, ``message`` is for people."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


Parser = Callable[[Field, Any], Any]
PARSERS: dict[str, Parser] = {}


def parser(*types: str) -> Callable[[Parser], Parser]:
    def register(fn: Parser) -> Parser:
        for t in types:
            PARSERS[t] = fn
        return fn

    return register


def parse(field: Field, value: Any, *, timezone: str = "Asia/Shanghai") -> Any:
    """The value ``value`` as ``field`` stores it, or :class:`ValueProblem`.

    ``None`` and the empty string mean "no value" for every type but text-like ones
    keep ``""`` as given. ``timezone`` is used for datetimes given without an offset
    (typed into a form, say): they are read as the site's local time.
    """
    if value is None:
        return None
    if value == "" and field.type not in ("string", "text"):
        return None
    if field.type == "datetime":
        return _parse_datetime(value, timezone)
    return PARSERS[field.type](field, value)


@parser("string", "text", "email", "phone", "url")
def _parse_text(field: Field, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueProblem("must be text", "type")
    text = str(value)
    if "\x00" in text:
        raise ValueProblem("must not contain NUL characters")
    if field.type != "text":
        text = text.strip()
    if field.max_length is not None and len(text) > field.max_length:
        raise ValueProblem(f"is longer than {field.max_length} characters", "max_length")
    if field.type == "email" and text and not _EMAIL.match(text):
        raise ValueProblem("is not an e-mail address", "email")
    if field.type == "phone" and text and not _PHONE.match(text):
        raise ValueProblem("is not a phone number", "phone")
    if field.type == "url" and text and not _URL.match(text):
        raise ValueProblem("is not an http(s) address", "url")
    return text


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,30}$")
_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)


@parser("integer")
def _parse_integer(field: Field, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueProblem("must be a whole number", "type")
    if isinstance(value, int):
        number = value
    elif isinstance(value, (str, Decimal, float)):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueProblem("must be a whole number", "type") from None
        if not d.is_finite() or d != d.to_integral_value():
            raise ValueProblem("must be a whole number", "type")
        number = int(d)
    else:
        raise ValueProblem("must be a whole number", "type")
    if not -(2**63) <= number < 2**63:
        raise ValueProblem("is out of range", "range")
    return number


#: (precision, scale) of each decimal type when the definition gives none.
DECIMAL_DEFAULTS = {"decimal": (18, 6), "money": (18, 2), "percent": (7, 4)}


@parser("decimal", "money", "percent")
def _parse_decimal(field: Field, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        raise ValueProblem("must be a number", "type")
    if isinstance(value, float):
        # A float from JSON: take its shortest decimal form, never the binary expansion.
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else (
            Decimal(value)
        )
    except InvalidOperation:
        raise ValueProblem("must be a number", "type") from None
    if not number.is_finite():
        raise ValueProblem("must be a finite number", "type")
    default_precision, default_scale = DECIMAL_DEFAULTS[field.type]
    scale = field.scale if field.scale is not None else default_scale
    precision = field.precision if field.precision is not None else default_precision
    quantum = Decimal(1).scaleb(-scale)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -scale:
        if number != number.quantize(quantum):
            raise ValueProblem(f"has more than {scale} decimal places", "scale")
    number = number.quantize(quantum)
    if abs(number) >= Decimal(10) ** (precision - scale):
        raise ValueProblem(f"is too large (at most {precision - scale} digits before the point)",
                           "precision")
    return number


@parser("boolean")
def _parse_boolean(field: Field, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on", "y", "是"):
            return True
        if word in ("0", "false", "no", "off", "n", "否"):
            return False
    raise ValueProblem("must be true or false", "type")


@parser("date")
def _parse_date(field: Field, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueProblem("must be a date, not a date and time", "type")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueProblem("must be a date like 2026-11-11", "type")


def _parse_datetime(value: Any, timezone: str) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueProblem("must be a date and time like 2026-11-11T20:00:00+08:00",
                               "type") from None
    if not isinstance(value, dt.datetime):
        raise ValueProblem("must be a date and time", "type")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value


@parser("select")
def _parse_select(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem("must be one of the listed options", "type")
    allowed = [o.value for o in field.options]
    if value not in allowed:
        raise ValueProblem(
            f"{value!r} is not an option (choose from {', '.join(allowed)})", "option"
        )
    return value


@parser("link", "attachment")
def _parse_reference(field: Field, value: Any) -> int:
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if isinstance(value, bool):
        raise ValueProblem("must be a record id", "type")
    try:
        ident = int(value)
    except (TypeError, ValueError):
        raise ValueProblem("must be a record id", "type") from None
    if ident <= 0 or ident >= 2**63:
        raise ValueProblem("must be a record id", "type")
    return ident


@parser("json")
def _parse_json(field: Field, value: Any) -> Any:
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueProblem("must be JSON data (objects, lists, text, numbers)", "type") from None
    if len(text) > 1_000_000:
        raise ValueProblem("is larger than 1 MB", "max_length")
    return json.loads(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def check_bounds(field: Field, value: Any) -> None:
    """min, max and pattern of a parsed, non-empty value."""
    if value is None:
        return
    if field.pattern and isinstance(value, str) and not re.fullmatch(field.pattern, value):
        raise ValueProblem("does not match the expected pattern", "pattern")
    if field.type in ("string", "text", "email", "phone", "url"):
        size = len(value)
        if field.min is not None and size < int(field.min):
            raise ValueProblem(f"must be at least {field.min} characters", "min")
        return
    if field.type in ("integer", "decimal", "money", "percent", "date", "datetime"):
        low = parse(field, field.min) if field.min is not None else None
        high = parse(field, field.max) if field.max is not None else None
        if low is not None and value < low:
            raise ValueProblem(f"must be at least {low}", "min")
        if high is not None and value > high:
            raise ValueProblem(f"must be at most {high}", "max")


def to_json(value: Any) -> Any:
    """A stored value as JSON data: Decimal as a string, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
