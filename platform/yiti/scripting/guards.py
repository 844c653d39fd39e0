"""The checks every operation of analysts' code passes before it computes.

RestrictedPython turns ``a.b`` into ``_getattr_(a, "b")``, ``a[b]`` into ``_getitem_``,
``x.y = z`` into ``_write_(x).y = z`` and ``for`` into ``_getiter_``; our policy (see
``policy.py``) also turns every binary operator into ``_binop_(op, a, b)``, every f-string
part into ``_str_`` and every f-string into ``_fstring_``. The functions here are those
hooks (``_str_`` is ``str()``, in ``names.py``). A single step of Python can't be
interrupted, so anything that could explode in one step (``**``, ``<<``, repeating a
sequence, padding a string, ``str()`` of a huge structure, ``int()`` of a long string) is
measured *before* it runs and refused past a bound in :class:`Limits`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any

from yiti.scripting.errors import SandboxViolation
from yiti.scripting.proxies import Doc, ReadOnlyRecord


@dataclass(frozen=True)
class Limits:
    """Bounds on what one operation may build. Expressions use the small defaults."""

    max_string: int = 100_000  # characters in one string
    max_items: int = 100_000  # "weight" of one container: items, nested, long strings count more
    max_int_bits: int = 4_096  # about 1,233 decimal digits
    max_loops: int = 0  # iterations per run; 0: loops are not allowed (expressions)
    max_output: int = 0  # characters of print/log per run


EXPRESSION_LIMITS = Limits()
SCRIPT_LIMITS = Limits(
    max_string=1_000_000, max_items=1_000_000, max_loops=1_000_000, max_output=64_000
)


def refuse(message: str, code: str = "forbidden") -> SandboxViolation:
    return SandboxViolation(message, code)


def too_big(what: str) -> SandboxViolation:
    return SandboxViolation(f"{what} would be too large", "size_limit")


# -- sizes -------------------------------------------------------------------------------

_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_SEQUENCE_TYPES = (list, tuple, set, frozenset, *_DICT_VIEWS)


def _inside(obj: Any) -> Iterable[Any] | None:
    """What ``str(obj)`` renders of ``obj``'s contents, or None if it renders short."""
    t = type(obj)
    if t in _SEQUENCE_TYPES:
        return obj  # type: ignore[no-any-return]
    if t is ReadOnlyRecord or t is Doc:
        return chain.from_iterable(obj._values.items())
    if isinstance(obj, dict):  # FrozenMap too
        return chain.from_iterable(obj.items())
    if isinstance(obj, BaseException):
        return obj.args
    return None


def weight(obj: Any, budget: int) -> int:
    """A cheap upper bound of what ``str(obj)`` or a copy costs; stops once past ``budget``.

    One unit is an item, or 8 characters of text, or 64 bits of a number. Records, maps
    and exceptions count by what they hold. An item shared between places counts at each
    place (``str()`` prints it at each), but an object inside itself counts once: ``str()``
    prints it as ``[...]``.
    """
    t = type(obj)
    if t is str:
        return 1 + len(obj) // 8
    if t is int:
        return 1 + obj.bit_length() // 64
    inside = _inside(obj)
    if inside is None:
        return 1
    total = 1
    path = {id(obj)}  # the containers being walked: one met again is inside itself
    stack: list[tuple[int, Iterator[Any]]] = [(id(obj), iter(inside))]
    while stack:
        key, items = stack[-1]
        for element in items:
            et = type(element)
            if et is str:
                total += 1 + len(element) // 8
            elif et is int:
                total += 1 + element.bit_length() // 64
            else:
                total += 1
                inner = _inside(element)
                if inner is not None and id(element) not in path:
                    path.add(id(element))
                    stack.append((id(element), iter(inner)))
                    break  # walk it now, then come back to the rest of ``items``
            if total > budget:
                return total
        else:
            stack.pop()
            path.discard(key)
        if total > budget:
            return total
    return total


# -- arithmetic --------------------------------------------------------------------------

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
    ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
}
_SEQUENCES = (str, list, tuple)


def make_binop(limits: Limits) -> Callable[[str, Any, Any], Any]:
    """``_binop_(op, a, b)``: ``a op b`` once it is known not to explode."""
    max_bits, max_string, max_items = limits.max_int_bits, limits.max_string, limits.max_items
    add, sub, mul, truediv = operator.add, operator.sub, operator.mul, operator.truediv
    ops = _OPS

    def binop(op: str, a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)
        # The common case first: numbers that can't grow much in one step.
        if (ta is Decimal or tb is Decimal) and op in "+-*/":
            if op == "*":
                return mul(a, b)
            return add(a, b) if op == "+" else sub(a, b) if op == "-" else truediv(a, b)
        if ta is int and tb is int:
            if op == "*":
                if a.bit_length() + b.bit_length() > max_bits:
                    raise too_big("the product")
                return a * b
            if op == "**":
                return _int_pow(a, b, max_bits)
            if op == "<<":
                if b > 0 and a.bit_length() + b > max_bits:
                    raise too_big("the shifted number")
                return a << b
            result = ops[op](a, b)
            if type(result) is int and result.bit_length() > max_bits:
                raise too_big("the number")
            return result
        if op == "**":
            return _pow(a, b, max_bits)
        if op == "*" and (ta in _SEQUENCES or tb in _SEQUENCES):
            seq, n = (a, b) if ta in _SEQUENCES else (b, a)
            if type(n) not in (int, bool):
                return mul(a, b)  # raises TypeError as Python would
            if type(seq) is str:
                if len(seq) * max(n, 0) > max_string:
                    raise too_big("the repeated text")
            elif weight(seq, max_items) * max(n, 0) > max_items:
                raise too_big("the repeated list")
            return mul(a, b)
        if op == "+" and ta in _SEQUENCES and tb is ta:
            if ta is str:
                if len(a) + len(b) > max_string:
                    raise too_big("the joined text")
            elif weight(a, max_items) + weight(b, max_items) > max_items:
                raise too_big("the joined list")
            return add(a, b)
        if op == "%" and isinstance(a, (str, bytes)):
            raise refuse("'%' formatting of text is not allowed; use + and format_number()")
        if op == "<<":
            return _shift(a, b, max_bits)
        try:
            fn = ops[op]
        except KeyError:
            raise refuse(f"the operator {op!r} is not allowed") from None
        return fn(a, b)

    return binop


def make_fstring(limits: Limits) -> Callable[..., str]:
    """``_fstring_(part, ...)``: an f-string's parts joined, refused past the text limit.

    Each part (a literal, or what ``_str_``/``_repr_`` made) is within the limit on its own;
    a 4,000-character formula can still hold hundreds of them.
    """
    max_string = limits.max_string

    def fstring(*parts: str) -> str:
        if sum(map(len, parts)) > max_string:
            raise too_big("the text")
        return "".join(parts)

    return fstring


def _int_pow(a: int, b: int, max_bits: int) -> Any:
    if b < 0 or a in (0, 1, -1):
        return a**b
    if b > max_bits or a.bit_length() * b > max_bits:
        raise too_big("the power")
    return a**b


def _pow(a: Any, b: Any, max_bits: int) -> Any:
    ta, tb = type(a), type(b)
    if ta in (int, bool) and tb in (int, bool):
        return _int_pow(int(a), int(b), max_bits)
    if ta in (int, bool, float, Decimal) and tb in (int, bool, float, Decimal):
        # float and Decimal powers are bounded by precision: they overflow, not grow.
        if ta is Decimal or tb is Decimal:
            return a**b
        return float(a) ** float(b) if ta is float or tb is float else a**b
    raise refuse(f"'**' is not allowed between {ta.__name__} and {tb.__name__}")


def _shift(a: Any, b: Any, max_bits: int) -> Any:
    if type(a) in (int, bool) and type(b) in (int, bool):
        if b > 0 and int(a).bit_length() + b > max_bits:
            raise too_big("the shifted number")
    return a << b


_INPLACE = {f"{op}=": op for op in _OPS}


def make_inplacevar(binop: Callable[[str, Any, Any], Any]) -> Callable[[str, Any, Any], Any]:
    """``x += y`` arrives as ``_inplacevar_("+=", x, y)``: the same guard as ``x + y``."""

    def inplacevar(op: str, x: Any, y: Any) -> Any:
        try:
            return binop(_INPLACE[op], x, y)
        except KeyError:
            raise refuse(f"the operator {op!r} is not allowed") from None

    return inplacevar
