"""The names analysts' code may use: a hand-picked set of builtins and our helpers.

Every name is a function or a plain value, never a module, a type or anything leading to
one (``date(y, m, d)`` makes a date; the ``datetime`` module is not reachable). Builtins
that copy or render a whole structure in one step (``list``, ``sorted``, ``str``, ``int``,
``round``) are wrapped to check sizes first. ``make_names`` builds a fresh set per
:class:`~yiti.scripting.guards.Limits`; nothing in it can be changed by the code it serves.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from yiti.scripting.access import bounded_list, check_hashes
from yiti.scripting.budget import OBJECT_BYTES, items_bytes
from yiti.scripting.guards import MAX_INT_BITS, Limits, make_binop, refuse, too_big, weight
from yiti.scripting.proxies import Doc, FrozenMap, ReadOnlyRecord

_timezone = ZoneInfo("Asia/Shanghai")


def set_timezone(name: str) -> None:
    """The site's time zone, used by ``today()`` and ``now()`` (settings.timezone)."""
    global _timezone
    _timezone = ZoneInfo(name)


_NUMBERS = (int, float, Decimal)
MAX_MODULAR_BITS = 256  # pow(base, exp, mod): exponent and modulus, as number literals


# -- rows: child lines and lists of records ------------------------------------------------


def _get(row: Any, field: str | None) -> Any:
    if field is None:
        return row
    t = type(row)
    if t is ReadOnlyRecord or t is Doc:
        try:
            return row._values[field]
        except KeyError:
            raise KeyError(f"a row has no field {field!r}") from None
    if t is dict or t is FrozenMap:
        return row.get(field)
    raise refuse(f"{field!r} can't be read from a {t.__name__}")


def _rows(rows: Any) -> Iterable[Any]:
    if rows is None:
        return ()
    if type(rows) not in (list, tuple):
        raise refuse("expected a list of rows (a child table)")
    return rows


def sum_of(rows: Any, field: str | None = None) -> Any:
    """``sum_of(lines, "amount")``: the total of a field over rows, None counted as 0."""
    total: Any = 0
    for row in _rows(rows):
        value = _get(row, field)
        if value is not None:
            total = total + value
    if type(total) is int and total.bit_length() > MAX_INT_BITS:  # a bit per doubling
        raise too_big("the sum", Limits().bits)
    return total


def count_of(rows: Any, field: str | None = None, value: Any = True) -> int:
    """``count_of(lines)`` rows; ``count_of(lines, "gift")`` those whose field is ``value``."""
    if field is None:
        return len(_rows(rows))  # type: ignore[arg-type]
    return sum(1 for row in _rows(rows) if _get(row, field) == value)


def _present(rows: Any, field: str | None) -> list[Any]:
    return [v for v in (_get(r, field) for r in _rows(rows)) if v is not None]


def min_of(rows: Any, field: str | None = None) -> Any:
    """The smallest value of a field over rows, or None if there is none."""
    values = _present(rows, field)
    return min(values) if values else None


def max_of(rows: Any, field: str | None = None) -> Any:
    """The largest value of a field over rows, or None if there is none."""
    values = _present(rows, field)
    return max(values) if values else None


def avg_of(rows: Any, field: str | None = None) -> Any:
    """The average of a field over rows (Decimal stays Decimal), or None if there is none."""
    values = _present(rows, field)
    if not values:
        return None
    total = sum_of(values)
    return total / (Decimal(len(values)) if isinstance(total, Decimal) else len(values))


def any_of(rows: Any, field: str, value: Any = True) -> bool:
    """True if some row's field equals ``value`` (``any_of(lines, "status", "backorder")``)."""
    return any(_get(row, field) == value for row in _rows(rows))


def all_of(rows: Any, field: str, value: Any = True) -> bool:
    """True if every row's field equals ``value`` (True for no rows)."""
    return all(_get(row, field) == value for row in _rows(rows))


def where(rows: Any, field: str, value: Any = True) -> tuple[Any, ...]:
    """The rows whose field equals ``value``: ``sum_of(where(lines, "taxable"), "amount")``."""
    return tuple(row for row in _rows(rows) if _get(row, field) == value)


def values_of(rows: Any, field: str) -> tuple[Any, ...]:
    """The field of every row, in order."""
    return tuple(_get(row, field) for row in _rows(rows))


def coalesce(*values: Any) -> Any:
    """The first value that is not None (``coalesce(discount, 0)``)."""
    for value in values:
        if value is not None:
            return value
    return None


def is_blank(value: Any) -> bool:
    """True for None, empty or whitespace-only text, and empty lists."""
    if value is None:
        return True
    if type(value) is str:
        return not value.strip()
    if type(value) in (list, tuple, dict, FrozenMap):
        return not value
    return False


# -- numbers -------------------------------------------------------------------------------


def _to_decimal(x: Any) -> Decimal:
    t = type(x)
    if t is Decimal:
        return x
    if t is int or t is bool:
        return Decimal(int(x))
    if t is float:
        return Decimal(repr(x))
    if t is str:
        if len(x) > 100:
            raise too_big("the number text", "at most 100 characters")
        try:
            return Decimal(x.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"{x!r} is not a number") from None
    raise TypeError(f"a {t.__name__} is not a number")


def decimal(x: Any = 0) -> Decimal:
    """An exact decimal number: ``decimal("0.1")``, ``decimal(3)``."""
    return _to_decimal(x)


def _places(places: Any) -> int:
    if type(places) is not int or not -30 <= places <= 30:
        raise ValueError("places must be a whole number between -30 and 30")
    return places


def round_half_up(x: Any, places: int = 0) -> Decimal:
    """``x`` rounded to ``places`` decimals, halves away from zero: 2.5 → 3, -2.5 → -3."""
    d = _to_decimal(x)
    if not d.is_finite():
        raise ValueError("can't round an infinite number")
    return d.quantize(Decimal(1).scaleb(-_places(places)), rounding=ROUND_HALF_UP)


def round_money(x: Any, places: int = 2) -> Decimal:
    """Money rounded the commercial way (half up), to 2 places unless told."""
    return round_half_up(x, places)


def _check_integral(x: Any, limits: Limits) -> None:
    """Refuse before converting a decimal to a whole number far past the limit (the
    result is measured exactly after: 1,234 digits may or may not fit 4,096 bits)."""
    if isinstance(x, Decimal) and x.is_finite() and x.adjusted() > limits.max_int_bits * 0.30103:
        raise too_big("the whole number", limits.bits)


def _whole(x: Any, limits: Limits) -> Any:
    if isinstance(x, int) and int.bit_length(x) > limits.max_int_bits:
        raise too_big("the whole number", limits.bits)
    return x


# Whole numbers of text by base: at most this many digits can be within the limit (plus a
# sign, a 0x prefix, spaces and underscores); longer text is refused before converting, as
# converting it costs time that grows with the square of its length.
def _max_digits(max_bits: int, base: int) -> int:
    return math.ceil(max_bits / math.log2(base)) + 1 if base >= 2 else max_bits + 1


def make_number_builtins(limits: Limits) -> dict[str, Any]:
    binop = make_binop(limits)
    digits = {base: _max_digits(limits.max_int_bits, base) for base in (0, *range(2, 37))}

    def int_(x: Any = 0, base: int | None = None) -> int:
        if isinstance(x, str):
            # + a sign and a prefix (0x); spaces around and underscores don't count
            most = digits.get(10 if base is None else base, limits.max_int_bits) + 3
            if len(x) > most and len(x.strip().replace("_", "")) > most:
                raise too_big("the whole number", limits.bits)
        _check_integral(x, limits)
        return _whole(int(x) if base is None else int(x, base), limits)  # type: ignore[no-any-return]

    def float_(x: Any = 0.0) -> float:
        if isinstance(x, str) and len(x) > 100:
            raise too_big("the number text", "at most 100 characters")
        return float(x)

    def round_(x: Any, ndigits: int | None = None) -> Any:
        if ndigits is None:
            _check_integral(x, limits)
            return _whole(round(x), limits)
        if type(ndigits) is not int or not -30 <= ndigits <= 30:
            raise ValueError("round() takes between -30 and 30 digits")
        return _whole(round(x, ndigits), limits)  # round(2**4096 - 1, -1) has a bit more

    def floor(x: Any) -> int:
        """The largest whole number not above ``x``."""
        _check_integral(x, limits)
        return _whole(math.floor(x), limits)  # type: ignore[no-any-return]

    def ceil(x: Any) -> int:
        """The smallest whole number not below ``x``."""
        _check_integral(x, limits)
        return _whole(math.ceil(x), limits)  # type: ignore[no-any-return]

    def pow_(base: Any, exp: Any, mod: Any = None) -> Any:
        if mod is None:
            return binop("**", base, exp)
        if not all(isinstance(v, int) for v in (base, exp, mod)):
            raise TypeError("pow() with a modulus takes whole numbers")
        # Its time grows with the exponent's bits times the square of the modulus's: at
        # 4,096 bits one call took 0.2 s, and a formula can hold a hundred of them.
        if max(int.bit_length(exp), int.bit_length(mod)) > MAX_MODULAR_BITS:
            raise too_big("the power", f"pow() with a modulus takes an exponent and a "
                          f"modulus of at most {MAX_MODULAR_BITS} bits")
        return pow(base, exp, mod)

    def format_number(x: Any, places: int = 2, thousands: bool = True) -> str:
        """``format_number(1234.5)`` → ``"1,234.50"``: rounded half up, grouped."""
        d = round_half_up(x, places)
        if d.adjusted() > 60:
            raise too_big("the number", "format_number() takes numbers below 10**60")
        return format(d, f"{',' if thousands else ''}.{max(_places(places), 0)}f")

    return {
        "int": int_, "float": float_, "round": round_, "floor": floor, "ceil": ceil,
        "pow": pow_, "format_number": format_number,
    }


# -- dates ---------------------------------------------------------------------------------


def today() -> dt.date:
    """Today's date in the site's time zone."""
    return dt.datetime.now(_timezone).date()


def now() -> dt.datetime:
    """The current date and time in the site's time zone."""
    return dt.datetime.now(_timezone)


def date(year: int, month: int, day: int) -> dt.date:
    """``date(2026, 3, 31)``."""
    return dt.date(year, month, day)


def datetime(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    """``datetime(2026, 3, 31, 18, 30)``, in the site's time zone."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=_timezone)


def to_date(value: Any) -> dt.date | None:
    """A date from a date, a datetime or ISO text (``"2026-03-31"``); None stays None."""
    if value is None or type(value) is dt.date:
        return value
    if type(value) is dt.datetime:
        return value.date()
    if type(value) is str and len(value) <= 40:
        return dt.date.fromisoformat(value.strip()[:10])
    raise ValueError(f"{value!r} is not a date")


def _out_of_range() -> ValueError:
    # Python says "Python int too large to convert to C int" of add_days(d, 10**20).
    return ValueError("the date would be out of range (years 1 to 9999)")


def add_days(d: Any, days: int) -> Any:
    """``add_days(order_date, 30)``; negative days go back."""
    try:
        return d + dt.timedelta(days=days)
    except OverflowError:
        raise _out_of_range() from None


def _add_months(d: Any, months: int) -> Any:
    if type(months) is not int:
        raise TypeError("months must be a whole number")
    month0 = d.month - 1 + months
    year, month = d.year + month0 // 12, month0 % 12 + 1
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        raise _out_of_range()
    last = _month_end(year, month)
    return d.replace(year=year, month=month, day=min(d.day, last))


def _month_end(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.timedelta(days=1)).day


def add_months(d: Any, months: int) -> Any:
    """``add_months(date(2026, 1, 31), 1)`` → 2026-02-28 (clamped to the month's end)."""
    return _add_months(d, months)


def add_years(d: Any, years: int) -> Any:
    """``add_years(d, 1)``; 29 February becomes 28 February."""
    return _add_months(d, 12 * years)


def days_between(start: Any, end: Any) -> int:
    """Whole days from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    return (to_date(end) - to_date(start)).days  # type: ignore[operator]


def start_of_month(d: Any) -> dt.date:
    """The first day of ``d``'s month."""
    return dt.date(d.year, d.month, 1)


def end_of_month(d: Any) -> dt.date:
    """The last day of ``d``'s month."""
    return dt.date(d.year, d.month, _month_end(d.year, d.month))


# -- builtins ------------------------------------------------------------------------------


# What prints at most a few thousand characters (a decimal of a 4,096-bit number): built
# and measured, not weighed first. f"{qty} pcs" is on hot paths.
_SHORT = frozenset((int, float, Decimal, bool, type(None), dt.date, dt.datetime))


def _repr_floor(text: str) -> int:
    """At least ``len(repr(text))``: each backslash doubles, plus the quotes. Other
    escapes (a quote, ``\\n``, up to 10 for ``'\\U000e0001'``) only add to it."""
    return len(text) + text.count("\\") + 2


def make_render(fn: Callable[[Any], str], limits: Limits) -> Callable[..., str]:
    """``fn`` (``str``, ``repr`` or ``ascii``) held to the text limit: the builtins ``str()``
    and ``repr()``, and f-strings' ``{x}``, ``{x!r}`` and ``{x!a}``."""
    max_string = limits.max_string
    charge = limits.charge()

    # Each result is held to max_string, so nesting them (repr(repr(...)), each doubling
    # backslashes) can't compound.
    def run(x: Any = "") -> str:
        t = type(x)
        if t is str:
            if fn is str:
                return x
            if _repr_floor(x) > max_string:
                raise too_big("the text", limits.text)
        elif isinstance(x, str):  # a subclass: str() copies it, repr() may print more
            if _repr_floor(x) > max_string:
                raise too_big("the text", limits.text)
        elif t not in _SHORT and weight(x, max_string // 4) > max_string // 4:
            raise too_big("the text", limits.text)
        # Built, then checked: other escapes, numbers and dates can print longer than
        # the checks above count, but only a few times longer (ascii() at most ten).
        text = fn(x)
        if len(text) > max_string:
            raise too_big("the text", limits.text)
        n = len(text)
        charge(OBJECT_BYTES + (n if text.isascii() else 4 * n), "the text")
        return text

    run.__name__ = fn.__name__
    return run


def _range_size(r: range) -> int:
    if r.step > 0:
        return max(0, (r.stop - r.start + r.step - 1) // r.step)
    return max(0, (r.start - r.stop - r.step - 1) // -r.step)


def make_builtins(limits: Limits, *, script: bool) -> dict[str, Any]:
    """A fresh set of builtins for code running under ``limits``."""
    max_items = limits.max_items
    charge = limits.charge()
    counted = charge if limits.account is not None else None  # for bounded_list()

    def sized(fn: Callable[..., Any], what: str) -> Callable[..., Any]:
        def run(items: Any = (), *args: Any, **kwargs: Any) -> Any:
            return fn(bounded_list(items, limits, counted, what), *args, **kwargs)

        run.__name__ = fn.__name__
        return run

    def set_(items: Any = ()) -> set[Any]:
        return set(check_hashes(bounded_list(items, limits, counted, "the set"), limits))

    def rows(fn: Callable[..., tuple[Any, ...]]) -> Callable[..., tuple[Any, ...]]:
        def run(*args: Any) -> tuple[Any, ...]:
            found = fn(*args)
            charge(items_bytes(len(found)), f"the result of {fn.__name__}()")
            return found

        run.__name__ = fn.__name__
        return run

    def whole(fn: Callable[..., Any]) -> Callable[..., Any]:
        # Adding whole numbers adds up to a bit per doubling: a sum of 4,096-bit numbers
        # may be past the limit.
        def run(*args: Any) -> Any:
            total = fn(*args)
            if isinstance(total, int) and int.bit_length(total) > limits.max_int_bits:
                raise too_big("the sum", limits.bits)
            return total

        run.__name__ = fn.__name__
        return run

    def range_(*args: int) -> range:
        r = range(*args)
        if _range_size(r) > max_items:  # len() itself fails past 2**63
            raise too_big("the range", limits.items)
        return r

    def sum_(items: Any, start: Any = 0) -> Any:
        if type(start) not in (int, float, Decimal):
            raise TypeError("sum() adds numbers; join text with ''.join(...)")
        # The list is dropped as soon as it is added up: not charged.
        return sum(bounded_list(items, limits), start)

    def dict_(*args: Any, **kwargs: Any) -> dict[Any, Any]:
        if args:
            source = args[0]
            if type(source) in (dict, FrozenMap):
                if len(source) > max_items:
                    raise too_big("the dict", limits.items)
                charge(items_bytes(len(source) + len(kwargs)), "the dict")
                return dict(source, **kwargs)
            pairs = bounded_list(source, limits, counted, "the dict")
            check_hashes([p[0] for p in pairs if type(p) in (tuple, list) and p], limits)
            return dict(pairs, **kwargs)
        return dict(**kwargs)

    names: dict[str, Any] = {
        "None": None, "True": True, "False": False,
        "abs": abs, "bool": bool, "len": len, "min": min, "max": max, "any": any, "all": all,
        "divmod": divmod, "chr": chr, "ord": ord,
        "str": make_render(str, limits), "repr": make_render(repr, limits),
        "list": sized(list, "the list"), "tuple": sized(tuple, "the tuple"),
        "set": set_, "sorted": sized(sorted, "the sorted list"),
        "dict": dict_, "range": range_, "sum": whole(sum_),
        "decimal": decimal, "Decimal": decimal,
        "round_money": round_money, "round_half_up": round_half_up,
        "sum_of": sum_of, "count_of": count_of, "min_of": min_of, "max_of": max_of,
        "avg_of": avg_of, "any_of": any_of, "all_of": all_of, "where": rows(where),
        "values_of": rows(values_of), "coalesce": coalesce, "is_blank": is_blank,
        "today": today, "now": now, "date": date, "datetime": datetime, "to_date": to_date,
        "add_days": add_days, "add_months": add_months, "add_years": add_years,
        "days_between": days_between, "start_of_month": start_of_month,
        "end_of_month": end_of_month,
    }
    names.update(make_number_builtins(limits))
    if script:
        names.update(
            enumerate=enumerate, zip=zip, reversed=sized(reversed, "the list"), map=map,
            filter=filter,
            Exception=Exception, ValueError=ValueError, TypeError=TypeError,
            KeyError=KeyError, IndexError=IndexError, ZeroDivisionError=ZeroDivisionError,
            ArithmeticError=ArithmeticError, LookupError=LookupError,
            AttributeError=AttributeError, RuntimeError=RuntimeError,
        )
    return names


# Helper names documented for analysts (docs/scripting.md lists each with an example).
HELPERS = (
    "sum_of count_of min_of max_of avg_of any_of all_of where values_of coalesce is_blank "
    "decimal round_money round_half_up floor ceil format_number today now date datetime "
    "to_date add_days add_months add_years days_between start_of_month end_of_month"
).split()
