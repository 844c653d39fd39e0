"""Form fields ↔ the values the permissions functions take, and their errors by field.

Only the shape of the input is checked here (a line that is not ``key=value``); what the
values may be is checked by :mod:`yiti.permissions` itself, the same code the admin API
calls, and its :class:`~yiti.errors.ValidationError` is put on the right input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from yiti.errors import FieldProblem, ValidationError

#: A problem inside an input (``roles[2]``, ``rules[0].field``, ``attributes.name``).
_INDEXED = re.compile(r"^(\w+)[\[.]")


def parse_attributes(text: str) -> dict[str, Any]:
    """``store=SH-01`` lines → ``{"store": "SH-01"}``; a key on several lines → a list
    ("one of")."""
    out: dict[str, Any] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            problems.append(FieldProblem("attributes", f"line {number}: write key=value, "
                                         "e.g. store=SH-01", "invalid"))
            continue
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    if problems:
        raise ValidationError(problems)
    return out


def format_attributes(attributes: Mapping[str, Any] | None) -> str:
    """The inverse of :func:`parse_attributes`, for the edit form."""
    lines = []
    for key, value in (attributes or {}).items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}={item}")
    return "\n".join(lines)


def parse_row_rules(text: str) -> list[dict[str, Any]]:
    """``own`` or ``<field or link path> = <user attribute>`` lines (the attribute ``name``
    being the user's own name) → row rule specs, as the overrides take them (they check
    the fields and paths)."""
    out: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.lower() == "own":
            out.append({"own": True})
            continue
        path, sep, attribute = line.partition("=")
        if not sep or not path.strip() or not attribute.strip():
            raise ValidationError([FieldProblem("rules", f"line {number}: write 'own' or "
                                                "field = attribute, e.g. store = store",
                                                "invalid")])
        out.append({"field": path.strip(), "user": attribute.strip()})
    return out


def format_row_rules(rules: Iterable[Any]) -> str:
    return "\n".join("own" if r.own else f"{r.path} = {r.attribute}" for r in rules)


def errors_by_field(error: ValidationError) -> dict[str, list[str]]:
    """Problems keyed by the form input they belong to (``roles[2]``, ``rules[0].field``
    → ``roles``, ``rules``)."""
    out: dict[str, list[str]] = {}
    for problem in error.problems:
        match = _INDEXED.match(problem.field)
        name = match.group(1) if match else (problem.field or "_form")
        out.setdefault(name, []).append(problem.message)
    return out
