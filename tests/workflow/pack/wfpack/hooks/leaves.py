"""Hooks of the leave workflow: one on entering the initial state (at create), one after
approval that refuses a title of "boom" (to show the approval's script is undone with it)."""

from __future__ import annotations

from typing import Any

from yiti.api import ValidationError

REQUESTED: list[dict[str, Any]] = []


def leave_requested(doc: dict[str, Any], ctx: Any) -> None:
    if doc["title"] == "refuse me":
        raise ValidationError("the leave_requested hook refuses this one")
    REQUESTED.append({"name": doc["name"], "user": ctx.user, "old": ctx.old,
                      "transition": dict(ctx.transition or {})})


def leave_approved(doc: dict[str, Any], ctx: Any) -> None:
    if doc["title"] == "boom":
        raise ValidationError("the leave_approved hook refuses this one")
