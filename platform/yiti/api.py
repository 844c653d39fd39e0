"""What a pack's hooks.py may import: the small, documented surface of the engine.

::

    from yiti import api

    @api.hook("loan", "validate")
    def enough_stock(doc, ctx):
        for i, line in enumerate(doc["lines"]):
            item = ctx.records.get("item", line["item"])
            if item["stock"] < line["qty"]:
                raise api.ValidationError(f"only {item['stock']} in stock", field=f"lines[{i}].qty")

Everything else in ``yiti`` may change between releases; this module changes with notice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationError
from yiti.permissions.policy import SYSTEM, Actor
from yiti.records.hooks import EVENTS, MARK, HookContext
from yiti.records.service import Count, Page, Records

F = TypeVar("F", bound=Callable[..., object])

__all__ = [
    "EVENTS", "SYSTEM", "Actor", "Conflict", "Count", "FieldProblem", "Forbidden",
    "HookContext", "NotFound", "Page", "Records", "ValidationError", "hook",
]


def hook(entity: str, event: str) -> Callable[[F], F]:
    """Mark ``fn(doc, ctx)`` to run on ``event`` for ``entity`` (``"*"``: every entity).

    Events and when they run are listed in :data:`EVENTS` and in docs/hooks.md.
    """
    if event not in EVENTS:
        from yiti.errors import did_you_mean

        hint = did_you_mean(event, EVENTS)
        raise ValueError(f"unknown event {event!r}" + (f"; {hint}" if hint else ""))

    def mark(fn: F) -> F:
        marks = list(getattr(fn, MARK, ()))
        marks.append((entity, event))
        setattr(fn, MARK, tuple(marks))
        return fn

    return mark
