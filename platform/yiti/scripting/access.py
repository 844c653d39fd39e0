"""Guarded attribute, item, write and iteration access (RestrictedPython's hooks).

Attributes are an allowlist per type: a string offers ``upper`` and ``split`` but not
``format``, ``format_map`` or ``encode``; a date offers ``year`` but not ``fromtimestamp``;
types, modules, functions, generators, frames and code offer nothing. Names starting with
an underscore are refused everywhere, also when computed at run time. String methods that
can build a huge result in one step are wrapped to check their arguments first, and case
mappings (which can make non-ASCII text longer) to check their result.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from yiti.scripting.budget import (
    OBJECT_BYTES,
    Charge,
    footprint,
    items_bytes,
    over_budget,
    text_bytes,
)
from yiti.scripting.errors import LimitExceeded, SandboxViolation
from yiti.scripting.guards import Limits, refuse, too_big
from yiti.scripting.proxies import Doc, FrozenMap, ReadOnlyRecord

_STR = frozenset(
    """capitalize casefold center count endswith expandtabs find index isalnum isalpha
    isascii isdecimal isdigit isidentifier islower isnumeric isspace istitle isupper join
    ljust lower lstrip partition removeprefix removesuffix replace rfind rindex rjust
    rpartition rsplit rstrip split splitlines startswith strip swapcase title upper
    zfill""".split()
)
_NUMBER = frozenset("real imag numerator denominator bit_length conjugate is_integer".split())
_DECIMAL = frozenset(
    """adjusted compare copy_abs copy_negate copy_sign is_finite is_infinite is_nan
    is_signed is_zero max min normalize quantize sqrt to_integral_value""".split()
)
_DATE = frozenset("year month day weekday isoweekday isoformat replace toordinal strftime".split())
_TIME = frozenset("hour minute second microsecond".split())
_DICT = frozenset("get keys values items copy".split())
_MUTABLE_DICT = _DICT | frozenset("update pop setdefault clear popitem".split())
_SEQ = frozenset(("count", "index"))
_LIST = _SEQ | frozenset("append extend insert pop remove sort reverse clear copy".split())
_SET = frozenset(
    """copy difference intersection isdisjoint issubset issuperset symmetric_difference
    union""".split()
)

ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _STR,
    int: _NUMBER - {"is_integer"},
    bool: _NUMBER - {"is_integer"},
    float: _NUMBER - {"numerator", "denominator", "bit_length"},
    Decimal: _DECIMAL,
    dt.date: _DATE,
    dt.datetime: _DATE | _TIME | frozenset(("date", "time", "timestamp")),
    dt.time: _TIME | frozenset(("isoformat", "replace")),
    dt.timedelta: frozenset(("days", "seconds", "microseconds", "total_seconds")),
    dict: _MUTABLE_DICT,
    FrozenMap: _DICT,
    list: _LIST,
    tuple: _SEQ,
    set: _SET | frozenset("add discard remove pop clear update".split()),
    frozenset: _SET,
    range: frozenset(("start", "stop", "step", "count", "index")),
}
_EXCEPTION = frozenset(("args",))

# Names refused at compile time and at run time, whatever the object.
FORBIDDEN_ATTRIBUTES = frozenset(INSPECT_ATTRIBUTES | {"format", "format_map", "mro"})


def _kind(obj: Any) -> str:
    if isinstance(obj, type):
        return "a type"
    if callable(obj):
        return "a function"
    return f"a {type(obj).__name__}"


def _check_name(name: Any) -> str:
    if type(name) is not str:
        raise refuse("attribute names must be text")
    if name.startswith("_"):
        raise refuse(f"{name!r} is not allowed: names starting with '_' are private")
    if name in FORBIDDEN_ATTRIBUTES:
        raise refuse(f"{name!r} is not allowed in formulas and scripts")
    return name


_MISSING = object()


def make_getattr(limits: Limits) -> Callable[..., Any]:
    """``_getattr_(obj, name[, default])``, also the ``getattr`` scripts get."""
    wrappers = _string_wrappers(limits)
    copies = _copy_wrappers(limits)
    records = (ReadOnlyRecord, Doc)

    def guarded_getattr(obj: Any, name: str, default: Any = _MISSING) -> Any:
        t = type(obj)
        if t in records:
            if type(name) is not str or name[:1] == "_":
                _check_name(name)
            try:
                return obj._values[name]
            except KeyError:
                if default is not _MISSING:
                    return default
                return getattr(obj, name)  # raises AttributeError with a hint
        _check_name(name)
        allowed = ATTRIBUTES.get(t)
        if allowed is None:
            if isinstance(obj, BaseException) and not isinstance(obj, type):
                allowed = _EXCEPTION
            else:
                raise refuse(f"{_kind(obj)} has no attributes you can use (asked for {name!r})")
        if name not in allowed:
            if default is not _MISSING:
                return default
            raise refuse(f"{t.__name__!r} has no usable attribute {name!r}")
        if t is str and name in wrappers:
            return wrappers[name](obj)
        if name in copies and t in _COPYING:
            return copies[name](obj, name)
        if t in (dt.date, dt.datetime) and name == "strftime":
            return _strftime(obj)
        return getattr(obj, name)

    return guarded_getattr


def make_hasattr(getattr_: Callable[..., Any]) -> Callable[[Any, str], bool]:
    def guarded_hasattr(obj: Any, name: str) -> bool:
        try:
            return getattr_(obj, name, _MISSING) is not _MISSING
        except (SandboxViolation, AttributeError):
            return False

    return guarded_hasattr


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``_getitem_(obj, key)``: items of data, never of types, never private keys."""
    if type(key) is str and key[:1] == "_":
        raise refuse(f"{key!r} is not allowed: names starting with '_' are private")
    if isinstance(obj, type):
        raise refuse("types can't be subscripted here")
    return obj[key]


def make_getitem(limits: Limits) -> Callable[[Any, Any], Any]:
    """``_getitem_`` for ``limits``: with a memory account, a slice (``text[1:]``, a copy)
    is charged to it."""
    if limits.account is None:
        return guarded_getitem
    charge = limits.charge()
    account = limits.account

    def getitem(obj: Any, key: Any) -> Any:
        tk = type(key)
        if tk is str:
            if key[:1] == "_":
                raise refuse(f"{key!r} is not allowed: names starting with '_' are private")
        elif tk is slice:
            if isinstance(obj, type):
                raise refuse("types can't be subscripted here")
            part = obj[key]
            if type(part) is str:  # code[:3]: footprint() and charge(), inlined
                n = len(part)
                account.left -= OBJECT_BYTES + (n if part.isascii() else 4 * n)
                if account.left < 0:
                    raise over_budget("the slice", limits.max_memory)
            elif part is not obj:
                charge(footprint(part), "the slice")
            return part
        if isinstance(obj, type):
            raise refuse("types can't be subscripted here")
        return obj[key]

    return getitem


def guarded_write(obj: Any) -> Any:
    """``_write_(obj)``: only lists, dicts and sets the code built itself, and ``doc``."""
    t = type(obj)
    if t is list or t is dict or t is set or t is Doc:
        return obj
    if t is ReadOnlyRecord or t is FrozenMap:
        raise refuse("records are read-only here")
    raise refuse(f"{_kind(obj)} can't be changed")


class LoopCounter:
    """Counts iterations of every loop in one run, refusing past ``limit``."""

    __slots__ = ("count", "limit")

    def __init__(self, limit: int) -> None:
        self.count = 0
        self.limit = limit

    def tick(self) -> None:
        self.count += 1
        if self.count > self.limit:
            raise LimitExceeded(
                f"the script went past {self.limit:,} loop iterations", "loop_limit"
            )

    def getiter(self, ob: Iterable[Any]) -> Iterator[Any]:
        """``_getiter_``: a ``for`` loop or comprehension over ``ob``, counted."""
        if isinstance(ob, type):
            raise refuse("types can't be iterated here")
        tick = self.tick
        for item in ob:
            tick()
            yield item

    def loop(self, test: Any) -> Any:
        """``while`` tests are wrapped in this, so ``while True: pass`` is counted too."""
        self.tick()
        return test


# -- string methods whose result can be huge -----------------------------------------------

_CASE_MAPPINGS = ("upper", "lower", "casefold", "title", "swapcase", "capitalize")
# Methods that return new text (or a list or tuple of texts): with a memory account, each
# result is charged to it.
_TEXT_RESULTS = frozenset(
    """capitalize casefold center expandtabs join ljust lower lstrip partition removeprefix
    removesuffix replace rjust rpartition rsplit rstrip split splitlines strip swapcase
    title upper zfill""".split()
)

Binder = Callable[[str], Callable[..., Any]]


def _string_wrappers(limits: Limits) -> dict[str, Binder]:
    # Widths and counts are read with operator.index, as the str methods read them (an
    # IntEnum too), and text arguments by isinstance: what is measured is what is used.
    max_string = limits.max_string

    def width(method: str) -> Binder:
        def bind(s: str) -> Callable[..., str]:
            def padded(w: int, *args: Any) -> str:
                n = operator.index(w)
                if n > max_string:
                    raise too_big(f"the result of {method}()", limits.text)
                return getattr(s, method)(n, *args)  # type: ignore[no-any-return]

            return padded

        return bind

    def case(method: str) -> Binder:
        # Case mappings can make non-ASCII text longer ('ß'.upper() is 'SS', a few letters
        # become three); ASCII text keeps its length, so only other text is measured.
        def bind(s: str) -> Callable[[], str]:
            if s.isascii():
                return getattr(s, method)  # type: ignore[no-any-return]

            def run() -> str:
                text: str = getattr(s, method)()  # at most three times the text
                if len(text) > max_string:
                    raise too_big(f"the result of {method}()", limits.text)
                return text

            return run

        return bind

    def expandtabs(s: str) -> Callable[..., str]:
        def run(tabsize: int = 8) -> str:
            # Each tab becomes at most tabsize spaces (none if tabsize <= 0).
            n = operator.index(tabsize)
            if len(s) + s.count("\t") * (n - 1) > max_string:
                raise too_big("the result of expandtabs()", limits.text)
            return s.expandtabs(n)

        return run

    def replace(s: str) -> Callable[..., str]:
        def run(old: str, new: str, count: int = -1) -> str:
            if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
                hits = s.count(old) if old else len(s) + 1
                limit = operator.index(count)
                if limit >= 0:
                    hits = min(hits, limit)
                if len(s) + hits * (len(new) - len(old)) > max_string:
                    raise too_big("the result of replace()", limits.text)
            return s.replace(old, new, count)

        return run

    def join(s: str) -> Callable[..., str]:
        def run(parts: Iterable[str]) -> str:
            items = bounded_list(parts, limits)
            size = len(s) * max(len(items) - 1, 0)
            for item in items:
                size += len(item) if isinstance(item, str) else 0
            if size > max_string:
                raise too_big("the joined text", limits.text)
            return s.join(items)

        return run

    wrappers: dict[str, Binder] = {m: width(m) for m in ("ljust", "rjust", "center", "zfill")}
    wrappers.update({m: case(m) for m in _CASE_MAPPINGS})
    wrappers.update(expandtabs=expandtabs, replace=replace, join=join)
    if limits.account is None:
        return wrappers
    return {m: _charged(m, wrappers.get(m), limits) for m in _TEXT_RESULTS}


def _charged(method: str, checked: Binder | None, limits: Limits) -> Binder:
    """``method`` of a text (through ``checked`` if it has size checks), its result
    charged to the evaluation's memory account."""
    what = f"the result of {method}()"
    account, charge = limits.account, limits.charge()
    assert account is not None

    def bind(s: str) -> Callable[..., Any]:
        call = checked(s) if checked is not None else getattr(s, method)

        def run(*args: Any, **kwargs: Any) -> Any:
            result = call(*args, **kwargs)
            if result is s:  # unchanged text is not copied ('abc'.strip())
                return result
            if type(result) is str:  # text_bytes() and charge(), inlined: name.upper()
                n = len(result)
                account.left -= OBJECT_BYTES + (n if result.isascii() else 4 * n)
                if account.left < 0:
                    raise over_budget(what, limits.max_memory)
            else:  # split() and partition(): new texts holding at most s's characters
                charge(items_bytes(len(result)) + text_bytes(s), what)
            return result

        return run

    return bind


# Methods that copy a container (or build a new one from two): with a memory account,
# charged like list().
_COPYING = frozenset((list, dict, FrozenMap, set, frozenset))
_COPIES = ("copy", "union", "intersection", "difference", "symmetric_difference")


def _copy_wrappers(limits: Limits) -> dict[str, Callable[[Any, str], Callable[..., Any]]]:
    if limits.account is None:
        return {}
    charge = limits.charge()

    def bind(obj: Any, method: str) -> Callable[..., Any]:
        call = getattr(obj, method)

        def run(*args: Any) -> Any:
            if isinstance(obj, (set, frozenset)):  # the others are hashed into the result
                args = tuple(check_hashes(bounded_list(a, limits), limits) for a in args)
            result = call(*args)
            charge(items_bytes(len(result)), f"the result of {method}()")
            return result

        return run

    def update(obj: Any, method: str) -> Callable[..., Any]:
        # set().update(range(0, n * (2**61 - 1), 2**61 - 1)) hashes as set() would: a
        # flood of one hash took seconds of the web process, unchecked and uncharged.
        call = getattr(obj, method)

        def run(*args: Any, **kwargs: Any) -> Any:
            checked = []
            for a in args:
                items = bounded_list(a.items() if isinstance(a, dict) else a, limits)
                keys = items if isinstance(obj, set) else [
                    p[0] for p in items if type(p) in (tuple, list) and p]
                check_hashes(keys, limits)
                charge(items_bytes(len(items)), f"the result of {method}()")
                checked.append(items)
            return call(*checked, **kwargs)

        return run

    return {**dict.fromkeys(_COPIES, bind), "update": update}


def _strftime(d: dt.date) -> Callable[[str], str]:
    def run(pattern: str) -> str:
        if type(pattern) is not str or len(pattern) > 200:
            raise refuse("strftime() takes a pattern of at most 200 characters")
        return d.strftime(pattern)

    return run


def bounded_list(
    items: Iterable[Any], limits: Limits, charge: Charge | None = None, what: str = "the list"
) -> list[Any]:
    """``list(items)``, refused (before copying when the size is known) past the bound,
    and charged to the evaluation's memory account by ``charge`` if given."""
    if isinstance(items, type):
        raise refuse("types can't be iterated here")
    if hasattr(type(items), "__len__"):
        size = len(items)  # type: ignore[arg-type]
        if size > limits.max_items:
            raise too_big(what, limits.items)
        if charge is not None:
            charge(items_bytes(size), what)
        return list(items)
    out: list[Any] = []
    for item in items:
        if len(out) >= limits.max_items:
            raise too_big(what, limits.items)
        out.append(item)
    if charge is not None:
        charge(items_bytes(len(out)), what)
    return out


_HASH_MODULUS = 2**61 - 1  # sys.hash_info.modulus on 64-bit builds


def check_hashes(items: list[Any], limits: Limits) -> list[Any]:
    """``items``, refused if more than ``limits.max_collisions`` of them share a hash with
    a different one (see ``Limits.max_collisions``): building a set or dict of them would
    take time growing with the square of their number. Linear: each is compared with the
    first of its hash only. Text is skipped, its hashes are keyed per process, and so are
    whole numbers below 2**61 - 1 (each is its own hash, but -1 and -2 share one): among
    the values of one hash, at most two of those, so a flood is still counted by the rest;
    and ordinary data costs no memory here."""
    most = limits.max_collisions
    if not most:
        return items
    first: dict[int, Any] = {}
    clashes = 0
    for item in items:
        t = type(item)
        if t is str or (t is int and -_HASH_MODULUS < item < _HASH_MODULUS):
            continue
        seen = first.setdefault(hash(item), item)
        if seen is not item and seen != item:
            clashes += 1
            if clashes > most:
                raise refuse(
                    f"more than {most} of these values share a hash with a different one "
                    "(whole numbers a multiple of 2**61 - 1 apart): a set or dict of them "
                    "would take too long to build", "size_limit",
                )
    return items


def check_attribute_name(name: str) -> None:
    """Raise :class:`SandboxViolation` if ``name`` may never be used as an attribute."""
    _check_name(name)


__all__ = ["SandboxViolation"]
