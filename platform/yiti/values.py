"""Turning input into field values, and checking them against the field's options.

Pure functions: the record service uses them on every write, migrations use them to
convert existing data when a field's type changes, imports use them on every cell. One
parser per field type, in a registry; each raises :class:`ValueProblem` with a message
the user can act on.

Each field's parser and bounds check are built once (:func:`field_parser`,
:func:`bounds_checker`): what the definition says (scale, options, pattern, min and max)
is worked out when the function is built, not again for every value. :func:`parse` and
:func:`check_bounds` use the same functions.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import weakref
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from yiti.definitions.model import Field
from yiti.definitions.options import not_an_option
from yiti.messages import Message

UTC = dt.UTC
DEFAULT_TIMEZONE = "Asia/Shanghai"

#: The largest id (and version) a 64-bit integer column holds.
MAX_ID = 2**63 - 1

T = TypeVar("T")


class ValueProblem(ValueError):
    """A value that does not fit its field; ``code`` is stable, ``message`` is for people."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PerDefinition(Generic[T]):
    """Something built once per definition object and kept while the object lives.

    Definitions (:class:`Field`, :class:`~yiti.definitions.model.Entity`) are frozen but
    not hashable (they hold dicts), so they are remembered by identity, with a weak
    reference that forgets them when the model they belong to is dropped.
    ``build(obj, *args)`` makes the value; ``args`` must be hashable.
    """

    def __init__(self, build: Callable[..., T]) -> None:
        self._build = build
        self._store: dict[tuple[Any, ...], tuple[weakref.ref[Any], T]] = {}

    def get(self, obj: Any, *args: Any) -> T:
        key = (id(obj), *args)
        hit = self._store.get(key)
        if hit is not None and hit[0]() is obj:
            return hit[1]
        value = self._build(obj, *args)
        store = self._store
        self._store[key] = (weakref.ref(obj, lambda _ref: store.pop(key, None)), value)
        return value


Convert = Callable[[Any], Any]
#: One builder per field type: ``build(field, timezone)`` → a function of one non-empty
#: value that returns it as the field stores it or raises :class:`ValueProblem`.
Builder = Callable[[Field, str], Convert]
PARSERS: dict[str, Builder] = {}


def copy_value(value: Any) -> Any:
    """A copy of a record or a value of one that later changes to either can't reach:
    dicts and lists are copied at every depth; what they hold (text, numbers, decimals,
    dates, None) can't change and is shared. Like ``copy.deepcopy`` for the values
    records hold, without its bookkeeping (and without rebuilding every datetime)."""
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    return value


def parser(*types: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        for t in types:
            PARSERS[t] = fn
        return fn

    return register


def parse(field: Field, value: Any, *, timezone: str = DEFAULT_TIMEZONE) -> Any:
    """The value ``value`` as ``field`` stores it, or :class:`ValueProblem`.

    ``None`` and the empty string mean "no value" for every type but text-like ones
    keep ``""`` as given. ``timezone`` is used for datetimes given without an offset
    (typed into a form, say): they are read as the site's local time.
    """
    return _parsers.get(field, timezone)(value)


def field_parser(field: Field, timezone: str = DEFAULT_TIMEZONE) -> Convert:
    """``field``'s parser as a function of the value (``parse`` without the look-ups);
    built once per field and time zone."""
    return _parsers.get(field, timezone)


def _build_parser(field: Field, timezone: str) -> Convert:
    convert = PARSERS[field.type](field, timezone)
    if field.type in ("string", "text"):
        def parse_text(value: Any) -> Any:
            return None if value is None else convert(value)

        return parse_text

    def parse_value(value: Any) -> Any:
        if value is None or value == "":
            return None
        return convert(value)

    return parse_value


_parsers: PerDefinition[Convert] = PerDefinition(_build_parser)

TEXT_TYPES = ("string", "text", "email", "phone", "url")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{2,30}$")
_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_TEXT_CHECKS = {
    "email": (_EMAIL, Message("is not an e-mail address"), "email"),
    "phone": (_PHONE, Message("is not a phone number"), "phone"),
    "url": (_URL, Message("is not an http(s) address"), "url"),
}


@parser(*TEXT_TYPES)
def _text_parser(field: Field, timezone: str) -> Convert:
    strip = field.type != "text"
    max_length = field.max_length
    check = _TEXT_CHECKS.get(field.type)

    def parse_text(value: Any) -> str:
        if value.__class__ is str:
            text = value
        elif isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ValueProblem(Message("must be text"), "type")
        else:
            text = str(value)
        if "\x00" in text:
            raise ValueProblem(Message("must not contain NUL characters"))
        if strip:
            text = text.strip()
        if max_length is not None and len(text) > max_length:
            raise ValueProblem(Message("is longer than %(n)s characters", n=max_length), "max_length")
        if check is not None and text and not check[0].match(text):
            raise ValueProblem(check[1], check[2])
        return text

    return parse_text


@parser("integer")
def _integer_parser(field: Field, timezone: str) -> Convert:
    return _parse_integer


def _parse_integer(value: Any) -> int:
    if value.__class__ is int:
        number = value
    elif isinstance(value, bool):
        raise ValueProblem(Message("must be a whole number"), "type")
    elif isinstance(value, int):
        number = int(value)
    elif isinstance(value, (str, Decimal, float)):
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueProblem(Message("must be a whole number"), "type") from None
        if not d.is_finite() or d != d.to_integral_value():
            raise ValueProblem(Message("must be a whole number"), "type")
        number = int(d)
    else:
        raise ValueProblem(Message("must be a whole number"), "type")
    if not -(2**63) <= number < 2**63:
        raise ValueProblem(Message("is out of range"), "range")
    return number


#: (precision, scale) of each decimal type when the definition gives none.
DECIMAL_DEFAULTS = {"decimal": (18, 6), "money": (18, 2), "percent": (7, 4)}


@parser("decimal", "money", "percent")
def _decimal_parser(field: Field, timezone: str) -> Convert:
    default_precision, default_scale = DECIMAL_DEFAULTS[field.type]
    scale = field.scale if field.scale is not None else default_scale
    precision = field.precision if field.precision is not None else default_precision
    quantum = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (precision - scale)
    too_large = (Message("is too large (at most %(n)s digits before the point)",
                         n=precision - scale),
                 "precision")

    def parse_decimal(value: Any) -> Decimal:
        kind = value.__class__
        if kind is Decimal:
            number = value
        elif kind is int:
            number = Decimal(value)
        else:
            number = _to_decimal(value)
        if not number.is_finite():
            raise ValueProblem(Message("must be a finite number"), "type")
        try:
            rounded = number.quantize(quantum)
        except InvalidOperation:  # more digits than Decimal's context holds
            raise ValueProblem(*too_large) from None
        if rounded != number:
            raise ValueProblem(Message("has more than %(n)s decimal places", n=scale), "scale")
        if abs(rounded) >= limit:
            raise ValueProblem(*too_large)
        return rounded

    return parse_decimal


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal, float)):
        raise ValueProblem(Message("must be a number"), "type")
    if isinstance(value, float):
        # A float from JSON: take its shortest decimal form, never the binary expansion.
        value = repr(value)
    try:
        return Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else (
            Decimal(value)
        )
    except InvalidOperation:
        raise ValueProblem(Message("must be a number"), "type") from None


@parser("boolean")
def _boolean_parser(field: Field, timezone: str) -> Convert:
    return _parse_boolean


def _parse_boolean(value: Any) -> bool:
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
    raise ValueProblem(Message("must be true or false"), "type")


@parser("date")
def _date_parser(field: Field, timezone: str) -> Convert:
    return _parse_date


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueProblem(Message("must be a date, not a date and time"), "type")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueProblem(Message("must be a date like 2026-11-11"), "type")


@parser("datetime")
def _datetime_parser(field: Field, timezone: str) -> Convert:
    def parse_datetime(value: Any) -> dt.datetime:
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueProblem(Message("must be a date and time like 2026-11-11T20:00:00+08:00"),
                                   "type") from None
        if not isinstance(value, dt.datetime):
            raise ValueProblem(Message("must be a date and time"), "type")
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo(timezone))
        return value

    return parse_datetime


@parser("select")
def _select_parser(field: Field, timezone: str) -> Convert:
    allowed = [o.value for o in field.options]
    options = frozenset(allowed)

    def parse_select(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueProblem(not_an_option(value, allowed), "type")
        if value not in options:
            raise ValueProblem(not_an_option(value, allowed), "option")
        return value

    return parse_select


@parser("link", "attachment")
def _reference_parser(field: Field, timezone: str) -> Convert:
    return parse_reference


def parse_reference(value: Any) -> int:
    """A link's value (an id, its text, ``{"id": n}``) as the id; ValueProblem if none."""
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if isinstance(value, bool):
        raise ValueProblem(Message("must be a record id"), "type")
    try:
        ident = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
        raise ValueProblem(Message("must be a record id"), "type") from None
    if ident <= 0 or ident >= 2**63:
        raise ValueProblem(Message("must be a record id"), "type")
    return ident


@parser("json")
def _json_parser(field: Field, timezone: str) -> Convert:
    return _parse_json


def _parse_json(value: Any) -> Any:
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError):
        raise ValueProblem(Message("must be JSON data (objects, lists, text, numbers)"), "type") from None
    if len(text) > 1_000_000:
        raise ValueProblem(Message("is larger than 1 MB"), "max_length")
    return json.loads(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


Check = Callable[[Any], None]


def check_bounds(field: Field, value: Any) -> None:
    """min, max and pattern of a parsed, non-empty value."""
    check = _bounds.get(field)
    if check is not None:
        check(value)


def bounds_checker(field: Field) -> Check | None:
    """``check_bounds`` for ``field`` as a function of the value, built once; None when
    the field has no min, max or pattern."""
    return _bounds.get(field)


def _build_bounds(field: Field) -> Check | None:
    pattern = re.compile(field.pattern) if field.pattern else None
    min_length: int | None = None
    low: Any = None
    high: Any = None
    if field.type in TEXT_TYPES:
        min_length = int(field.min) if field.min is not None else None
    elif field.type in ("integer", "decimal", "money", "percent", "date", "datetime"):
        try:
            low = parse(field, field.min) if field.min is not None else None
            high = parse(field, field.max) if field.max is not None else None
        except ValueProblem as problem:  # a bound the field can't hold: say so on use
            error = problem

            def refuse(value: Any) -> None:
                if value is not None:
                    raise error

            return refuse
    if pattern is None and min_length is None and low is None and high is None:
        return None

    def check(value: Any) -> None:
        if value is None:
            return
        if pattern is not None and isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueProblem(Message("must match the pattern %(pattern)s", pattern=field.pattern), "pattern")
        if min_length is not None and len(value) < min_length:
            raise ValueProblem(Message("must be at least %(n)s characters", n=field.min), "min")
        if low is not None and value < low:
            raise ValueProblem(Message("must be at least %(n)s", n=low), "min")
        if high is not None and value > high:
            raise ValueProblem(Message("must be at most %(n)s", n=high), "max")

    return check


_bounds: PerDefinition[Check | None] = PerDefinition(_build_bounds)


def to_json(value: Any) -> Any:
    """A stored value as JSON data: Decimal as a plain decimal string (never exponent
    form: a zero of scale 8 is ``0.00000000``, not ``0E-8``), dates in ISO 8601."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


#: Characters of a decimal written out in full; past them it is written in exponent
#: notation. A stored number has a few dozen digits, but a script's result or a formula's
#: value may be ``decimal("1e999999999")``: written out, a billion zeros (gigabytes in the
#: web process for one answer).
MAX_PLAIN_DECIMAL = 100


def decimal_text(value: Decimal) -> str:
    """``value`` as a plain decimal string (``0.00000000``, not ``0E-8``), or in exponent
    notation when its first digit is :data:`MAX_PLAIN_DECIMAL` or more places from the
    point (written out, the zeros between would be past that many characters) or it is
    not finite (``NaN``, ``Infinity``). Otherwise the plain text is at most that long plus
    the digits the value itself holds."""
    if value.is_finite() and -MAX_PLAIN_DECIMAL < value.adjusted() < MAX_PLAIN_DECIMAL:
        return format(value, "f")  # (a zero's adjusted() is its exponent: 0E-999999999)
    return str(value)
