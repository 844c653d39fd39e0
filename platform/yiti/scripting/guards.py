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
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any

from yiti.scripting.budget import (
    OBJECT_BYTES,
    Account,
    Charge,
    items_bytes,
    make_charge,
    over_budget,
)
from yiti.scripting.errors import SandboxViolation
from yiti.scripting.proxies import Doc, ReadOnlyRecord

MAX_INT_BITS = 4_096  # about 1,233 decimal digits, formulas and scripts alike
MAX_POW_DIGITS = 100  # digits of a decimal raised to a fractional power


@dataclass(frozen=True)
class Limits:
    """Bounds on what one operation may build. Expressions use the small defaults."""

    max_string: int = 100_000  # characters in one string
    max_items: int = 100_000  # "weight" of one container: items, nested, long strings count more
    max_int_bits: int = MAX_INT_BITS
    max_loops: int = 0  # iterations per run; 0: loops are not allowed (expressions)
    max_output: int = 0  # characters of print/log per run
    # Bytes of text and containers one evaluation may build in all (budget.py), charged to
    # ``account``. Guards and builtins made with no account count nothing: scripts (their
    # worker process is bounded by RLIMIT_AS instead), and EXPRESSION_LIMITS itself, the
    # template of each thread's own (expressions.py).
    max_memory: int = 0
    account: Account | None = field(default=None, compare=False, repr=False)
    # Different values with the same hash that one set or dict may be built from (0: not
    # checked; scripts' CPU timer stops a flood). Python hashes whole numbers by their
    # remainder by 2**61 - 1, so range(0, 20_000 * (2**61 - 1), 2**61 - 1) is 20,000
    # numbers of one hash, and set() of it took 19 s: each went through all the others.
    max_collisions: int = 0

    def charge(self) -> Charge:
        """The function charging this set of limits' account (budget.py)."""
        return make_charge(self.account, self.max_memory)

    @property
    def text(self) -> str:
        return f"at most {self.max_string:,} characters"

    @property
    def items(self) -> str:
        return f"at most {self.max_items:,} items"

    @property
    def bits(self) -> str:
        return f"numbers have at most {self.max_int_bits:,} bits, about " \
            f"{int(self.max_int_bits * 0.30103):,} digits"


EXPRESSION_LIMITS = Limits(max_memory=8 * 1024 * 1024, max_collisions=256)
SCRIPT_LIMITS = Limits(
    max_string=1_000_000, max_items=1_000_000, max_loops=1_000_000, max_output=64_000
)


def refuse(message: str, code: str = "forbidden") -> SandboxViolation:
    return SandboxViolation(message, code)


def too_big(what: str, limit: str = "") -> SandboxViolation:
    """``what`` is past a size limit; ``limit`` says which (``Limits.text`` and friends)."""
    return SandboxViolation(
        f"{what} would be too large" + (f" ({limit})" if limit else ""), "size_limit"
    )


# -- sizes -------------------------------------------------------------------------------

_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_SEQUENCE_TYPES = (list, tuple, set, frozenset, *_DICT_VIEWS)
_CONTAINERS = (list, tuple, set, frozenset)


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
    if isinstance(obj, _CONTAINERS):  # a namedtuple, a caller's list subclass
        return obj  # type: ignore[no-any-return]
    return None


def _scalar_weight(obj: Any) -> int:
    """The weight of something that is not a container (see :func:`weight`). By
    isinstance: a subclass of str or int (an enum's value, Markup) prints as long."""
    if isinstance(obj, str):
        return 1 + len(obj) // 8
    if isinstance(obj, int):
        return 1 + int.bit_length(obj) // 64
    if isinstance(obj, Decimal) and obj.is_finite():
        # decimal(10**1200) keeps its 1,201 digits: it prints them all
        return 1 + len(obj.as_tuple().digits) // 8
    return 1


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
        return _scalar_weight(obj)
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
                inner = _inside(element)
                if inner is None:
                    total += _scalar_weight(element)
                else:
                    total += 1
                    if id(element) not in path:
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
_LISTS = (list, tuple)
_PLAIN = (str, list, tuple, int, bool)  # operands whose operators are the builtins'


def make_binop(limits: Limits) -> Callable[[str, Any, Any], Any]:
    """``_binop_(op, a, b)``: ``a op b`` once it is known not to explode.

    Exact types take the fast paths; subclasses (of int, str, list, tuple: an IntEnum,
    Markup, a namedtuple) are measured by isinstance as their base, and their result is
    measured again, as a subclass's operator may make it larger than its base's would.
    """
    max_bits, max_string, max_items = limits.max_int_bits, limits.max_string, limits.max_items
    add, sub, mul, truediv = operator.add, operator.sub, operator.mul, operator.truediv
    ops = _OPS
    charge = limits.charge()
    account, max_memory = limits.account, limits.max_memory

    def text(a: str, b: str, length: int, what: str) -> None:
        if length > max_string:
            raise too_big(what, limits.text)
        wide = not (a.isascii() and b.isascii())
        charge(OBJECT_BYTES + (4 * length if wide else length), what)

    def binop(op: str, a: Any, b: Any) -> Any:
        ta, tb = type(a), type(b)
        # The common cases first: numbers that can't grow much in one step, and joining
        # two texts (inlined: first + " " + last is on every save of some forms).
        if (ta is Decimal or tb is Decimal) and op in "+-*/":
            if op == "*":
                return mul(a, b)
            return add(a, b) if op == "+" else sub(a, b) if op == "-" else truediv(a, b)
        if ta is str and tb is str and op == "+":
            length = len(a) + len(b)
            if length > max_string:
                raise too_big("the joined text", limits.text)
            if account is not None:
                left = account.left - OBJECT_BYTES - (
                    length if a.isascii() and b.isascii() else 4 * length)
                account.left = left
                if left < 0:
                    raise over_budget("the joined text", max_memory)
            return a + b
        if ta is int and tb is int:
            return _int_op(op, a, b, max_bits, limits)
        if isinstance(a, int) and isinstance(b, int):  # bool, IntEnum
            return _int_op(op, a, b, max_bits, limits)
        if op == "**":
            return _pow(a, b, max_bits, limits)
        if op == "*" and (isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES)):
            seq, n = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
            try:
                count = max(operator.index(n), 0)  # what the repetition itself reads
            except TypeError:
                return mul(a, b)  # raises TypeError as Python would
            if isinstance(seq, str):
                text(seq, seq, len(seq) * count, "the repeated text")
            elif weight(seq, max_items) * count > max_items:
                raise too_big("the repeated list", limits.items)
            else:
                charge(items_bytes(len(seq) * count), "the repeated list")
            result = mul(a, b)
            return result if ta in _PLAIN and tb in _PLAIN else _measured(result, limits)
        if op == "+":
            if isinstance(a, str) and isinstance(b, str):
                text(a, b, len(a) + len(b), "the joined text")
                result = add(a, b)
                return result if ta is str and tb is str else _measured(result, limits)
            if isinstance(a, _LISTS) and isinstance(b, _LISTS):
                if weight(a, max_items) + weight(b, max_items) > max_items:
                    raise too_big("the joined list", limits.items)
                charge(items_bytes(len(a) + len(b)), "the joined list")
                result = add(a, b)
                return result if ta in _LISTS and tb in _LISTS else _measured(result, limits)
        if op == "%" and isinstance(a, (str, bytes)):
            raise refuse("'%' formatting of text is not allowed; use + and format_number()")
        if op == "<<":
            return _shift(a, b, max_bits, limits)
        try:
            fn = ops[op]
        except KeyError:
            raise refuse(f"the operator {op!r} is not allowed") from None
        return _whole(fn(a, b), max_bits, limits, "the number")

    return binop


def _measured(result: Any, limits: Limits) -> Any:
    """The result of a subclass's operator, measured: its own ``+`` or ``*`` may make it
    larger than its base's would (Markup escapes the other text as it joins it)."""
    if isinstance(result, str):
        if len(result) > limits.max_string:
            raise too_big("the text", limits.text)
    elif isinstance(result, _LISTS) and weight(result, limits.max_items) > limits.max_items:
        raise too_big("the list", limits.items)
    return result


def _whole(result: Any, max_bits: int, limits: Limits, what: str) -> Any:
    """``result``, refused if it is a whole number of more than ``max_bits`` bits."""
    if isinstance(result, int) and int.bit_length(result) > max_bits:
        raise too_big(what, limits.bits)
    return result


def _int_op(op: str, a: int, b: int, max_bits: int, limits: Limits) -> Any:
    """Whole numbers: those that could grow past ``max_bits`` in one step (``*``, ``**``,
    ``<<``) are measured first; every result is measured after (``+`` adds a bit)."""
    if op == "*":
        # a*b has bits(a) + bits(b) or one fewer: refuse what is surely too large,
        # measure the result of what may not be.
        if int.bit_length(a) + int.bit_length(b) - 1 > max_bits:
            raise too_big("the product", limits.bits)
        return _whole(a * b, max_bits, limits, "the product")
    if op == "**":
        return _int_pow(a, b, max_bits, limits)
    if op == "<<":
        return _shift(a, b, max_bits, limits)
    try:
        fn = _OPS[op]
    except KeyError:
        raise refuse(f"the operator {op!r} is not allowed") from None
    return _whole(fn(a, b), max_bits, limits, "the number")


def make_fstring(limits: Limits) -> Callable[..., str]:
    """``_fstring_(part, ...)``: an f-string's parts joined, refused past the text limit.

    Each part (a literal, or what ``_str_``/``_repr_`` made) is within the limit on its own;
    a 4,000-character formula can still hold hundreds of them.
    """
    max_string = limits.max_string
    charge = limits.charge()

    def fstring(*parts: str) -> str:
        n = sum(map(len, parts))
        if n > max_string:
            raise too_big("the text", limits.text)
        result = "".join(parts)
        charge(OBJECT_BYTES + (n if result.isascii() else 4 * n), "the text")
        return result

    return fstring


def _int_pow(a: int, b: int, max_bits: int, limits: Limits) -> Any:
    if b < 0 or a in (0, 1, -1):
        return a**b
    # |a| >= 2**(bits(a) - 1), so a**b has more than (bits(a) - 1) * b bits: refuse that
    # before computing; what is left is at most twice the limit, cheap to compute and
    # measure (2**4095 has 4,096 bits and is allowed, 2**4096 is not).
    if b > max_bits or (int.bit_length(a) - 1) * b >= max_bits:
        raise too_big("the power", limits.bits)
    return _whole(a**b, max_bits, limits, "the power")


def _pow(a: Any, b: Any, max_bits: int, limits: Limits) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return _int_pow(int(a), int(b), max_bits, limits)
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers):
        # float and Decimal powers are bounded by precision: they overflow, not grow.
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            # A fractional power of a decimal of many digits (decimal(2**4095) ** 0.5) took
            # 0.15 s in one step, its time growing with the cube of the digits.
            if (isinstance(a, Decimal) and a.is_finite()
                    and len(a.as_tuple().digits) > MAX_POW_DIGITS and b != int(b)):
                raise too_big("the power", f"a fractional power takes a decimal of at most "
                              f"{MAX_POW_DIGITS} digits")
            return a**b
        return float(a) ** float(b)
    raise refuse(f"'**' is not allowed between {type(a).__name__} and {type(b).__name__}")


def _shift(a: Any, b: Any, max_bits: int, limits: Limits) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        if b > 0 and int.bit_length(a) + b > max_bits:
            raise too_big("the shifted number", limits.bits)
    return _whole(a << b, max_bits, limits, "the shifted number")


_INPLACE = {f"{op}=": op for op in _OPS}


def make_inplacevar(binop: Callable[[str, Any, Any], Any]) -> Callable[[str, Any, Any], Any]:
    """``x += y`` arrives as ``_inplacevar_("+=", x, y)``: the same guard as ``x + y``."""

    def inplacevar(op: str, x: Any, y: Any) -> Any:
        try:
            return binop(_INPLACE[op], x, y)
        except KeyError:
            raise refuse(f"the operator {op!r} is not allowed") from None

    return inplacevar
