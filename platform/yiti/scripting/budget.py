"""The memory one formula evaluation may build in all.

Each operation is bounded on its own (:class:`~yiti.scripting.guards.Limits`: 100,000
characters per text, 100,000 items per list), but a formula of 4,000 characters holds a
few hundred operations, each building its largest value, all kept alive in one tuple:
``(list(range(99999)), list(range(99999)), ...)`` held 800 MB of the web process. So
every operation that builds text, a list, a tuple, a set or a dict also charges an account
opened for the evaluation, and refuses once the evaluation has built more than
``Limits.max_memory`` bytes in all, kept or dropped (a count of what was built, not of
what is alive: cheap, and it bounds the work done too).

Sizes are estimates cheap enough for the hot path (``sys.getsizeof`` costs more than the
concatenation it would measure): a text counts a byte a character, four if it is not
ASCII (CPython stores it in one, two or four bytes a character), and an item of a
container counts :data:`ITEM_BYTES` (its slot, and the number, character or pair it may
be a new object for: ``list(range(n))``, ``list(text)``, ``list(d.items())``).

Scripts have no account: they run in a worker process bounded by ``RLIMIT_AS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from yiti.scripting.errors import SandboxViolation

OBJECT_BYTES = 56  # the header of a text or a container
ITEM_BYTES = 64


class Account:
    """What the running evaluation may still build, in bytes.

    One per thread, with the thread's own set of guards and builtins charging it
    (``expressions.py``), so a charge is a plain attribute update: an evaluation runs to
    its end without yielding (no IO, no await), so no other evaluation shares the account
    meanwhile. (A ContextVar or a threading.local read at every charge cost a tenth of a
    typical evaluation.)
    """

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = 0


def text_bytes(text: str) -> int:
    """About what ``text`` takes in memory."""
    return OBJECT_BYTES + (len(text) if text.isascii() else 4 * len(text))


def items_bytes(count: int) -> int:
    """About what a container of ``count`` items takes in memory, new items included."""
    return OBJECT_BYTES + ITEM_BYTES * count


def footprint(value: Any) -> int:
    """About what a value just built takes: text and containers; anything else is small."""
    if isinstance(value, str):
        return text_bytes(value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return items_bytes(len(value))
    return OBJECT_BYTES


Charge = Callable[[int, str], None]


def over_budget(what: str, max_memory: int) -> SandboxViolation:
    """The refusal of ``what`` when it would take the evaluation past ``max_memory``."""
    return SandboxViolation(
        f"{what} would take the formula past its {max_memory / (1024 * 1024):g} MB of "
        "memory (all the text, lists, sets and dicts one evaluation builds count, kept or "
        "not); work on fewer or smaller values", "memory_limit",
    )


def _free(size: int, what: str) -> None:
    """No account: scripts."""


def make_charge(account: Account | None, max_memory: int) -> Charge:
    """``charge(size, what)``: take ``size`` bytes from ``account``, refusing
    (``memory_limit``) once it is spent; ``what`` names the value being built. Without an
    account (scripts), nothing is counted."""
    if account is None:
        return _free

    def charge(size: int, what: str) -> None:
        left = account.left - size
        account.left = left
        if left < 0:
            raise over_budget(what, max_memory)

    return charge
