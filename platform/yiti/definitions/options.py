"""JSON Schemas that take a select field's choices from the definitions.

Where a pack's own JSON Schema (an ``@api.endpoint``'s ``request`` or ``response``,
docs/hooks.md) would list the values of a select field, it says whose they are instead::

    "carrier": {"type": ["string", "null"], "x-yiti-options": "shipment.carrier"}

:func:`resolve_options` turns that into ``"enum"``: the field's option values as the
site's model has them (another pack's extension or the site's overlay adding a carrier
included), and ``null`` when the schema's ``type`` allows it. So the API accepts exactly
what the record accepts, and the OpenAPI document lists it. :func:`options_problems`
says what is wrong with a reference (``yiti check`` reports it at the endpoint).

:func:`not_an_option` is the one refusal of a value a select field does not offer (a
record's value, a list filter's), and :func:`compared_options` finds a formula comparing a
select field with text that is none of its options (``kind == 'repiar'``), which could
never hold.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator, Mapping
from difflib import get_close_matches
from functools import cache
from typing import Any

from yiti.errors import did_you_mean
from yiti.messages import Message

from .model import Field, Model
from .source import KeyPath
from .validate import METADATA_PATH

#: The keyword naming the select field (``<entity>.<field>``, ``$defs/options_ref`` of
#: metadata/common.schema.json) whose options are the enum.
OPTIONS_KEY = "x-yiti-options"


@cache
def _ref_pattern() -> str:
    """What a reference looks like: ``$defs/options_ref`` of metadata/common.schema.json."""
    common = json.loads((METADATA_PATH / "common.schema.json").read_text(encoding="utf-8"))
    return str(common["$defs"]["options_ref"]["pattern"])


def option_refs(schema: Any, at: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """``(key path, reference)`` of every :data:`OPTIONS_KEY` in ``schema``."""
    if isinstance(schema, Mapping):
        if OPTIONS_KEY in schema:
            yield (*at, OPTIONS_KEY), schema[OPTIONS_KEY]
        for key, value in schema.items():
            if key != OPTIONS_KEY:
                yield from option_refs(value, (*at, key))
    elif isinstance(schema, list | tuple):
        for index, value in enumerate(schema):
            yield from option_refs(value, (*at, index))


def option_values(model: Model, ref: Any) -> tuple[str, ...]:
    """The option values of the select field ``ref`` (``"<entity>.<field>"``) in
    ``model``; ValueError saying what is wrong (with a "did you mean") otherwise."""
    if not isinstance(ref, str) or not re.fullmatch(_ref_pattern(), ref):
        raise ValueError(f"{ref!r} is not '<entity>.<field>' (e.g. 'shipment.carrier')")
    entity_name, _, field_name = ref.partition(".")
    entity = model.entities.get(entity_name)
    if entity is None:
        hint = did_you_mean(entity_name, model.entities)
        raise ValueError(f"unknown entity {entity_name!r}" + (f"; {hint}" if hint else ""))
    found = entity.fields.get(field_name)
    if found is None:
        hint = did_you_mean(field_name, entity.fields)
        raise ValueError(f"unknown field {field_name!r} of {entity_name!r}"
                         + (f"; {hint}" if hint else ""))
    if found.type != "select":
        raise ValueError(f"{ref} is a {found.type} field, not a select: it has no options")
    return tuple(option.value for option in found.options)


def resolve_options(schema: Any, model: Model) -> Any:
    """``schema`` with every :data:`OPTIONS_KEY` replaced by ``enum`` from ``model``
    (the same object when it has none); ValueError naming the first bad reference."""
    if not any(True for _ in option_refs(schema)):
        return schema
    return _resolved(schema, model)


def options_problems(schema: Any, model: Model) -> list[tuple[KeyPath, str]]:
    """``(key path, message)`` of each bad reference in ``schema``; empty when fine."""
    problems = []
    for at, ref in option_refs(schema):
        try:
            option_values(model, ref)
        except ValueError as error:
            problems.append((at, str(error)))
        owner: Any = schema
        for key in at[:-1]:
            owner = owner[key]
        if "enum" in owner:
            problems.append((at, "give the values in 'enum' or take them from a field with "
                                 f"'{OPTIONS_KEY}', not both"))
    return problems


def _resolved(schema: Any, model: Model) -> Any:
    if isinstance(schema, list | tuple):
        return [_resolved(value, model) for value in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {key: _resolved(value, model) for key, value in schema.items()
           if key != OPTIONS_KEY}
    if OPTIONS_KEY in schema:
        values: list[Any] = list(option_values(model, schema[OPTIONS_KEY]))
        kinds = schema.get("type")
        if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
            values.append(None)
        out["enum"] = values
    return out


def not_an_option(value: Any, allowed: list[str] | tuple[str, ...]) -> str:
    """Why ``value`` is refused by a select field offering ``allowed``, with the nearest
    (``1`` is no option either: options are text)."""
    near = get_close_matches(value, [str(a) for a in allowed], n=1) if isinstance(
        value, str) else None
    if near:
        return Message("%(value)s is not an option; did you mean %(near)s? (choose from "
                       "%(options)s)", value=repr(value), near=repr(near[0]),
                       options=", ".join(allowed))
    return Message("%(value)s is not an option (choose from %(options)s)",
                   value=repr(value), options=", ".join(allowed))


def compared_options(source: str, field_of: Callable[[tuple[str, ...]], Field | None]
                     ) -> list[tuple[int, str]]:
    """``(line within source, message)`` for each text a select field is compared with
    (``==``, ``!=``, ``in``, ``not in`` a literal list) that is not one of its options.

    ``field_of`` maps a name or a path (``("kind",)``, ``("doc", "kind")``) to the field it
    reads, or None. Only what the text says plainly is checked: a field against a literal;
    text that does not parse, and fields with no options, are left alone.
    """
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            left, right = operands[index], operands[index + 1]
            pairs: list[tuple[ast.expr, ast.expr]] = []
            if isinstance(op, ast.Eq | ast.NotEq):
                pairs = [(left, right), (right, left)]
            elif isinstance(op, ast.In | ast.NotIn) and isinstance(
                    right, ast.Tuple | ast.List | ast.Set):
                pairs = [(left, item) for item in right.elts]
            for side, other in pairs:
                field = _read_field(side, field_of)
                if (field is None or field.type != "select" or not field.options
                        or not isinstance(other, ast.Constant) or not isinstance(other.value, str)):
                    continue
                allowed = [option.value for option in field.options]
                if other.value not in allowed:
                    found.append((other.lineno, f"{field.name}: "
                                  + not_an_option(other.value, allowed)))
    return found


def _read_field(node: ast.expr, field_of: Callable[[tuple[str, ...]], Field | None]
                ) -> Field | None:
    if isinstance(node, ast.Name):
        return field_of((node.id,))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return field_of((node.value.id, node.attr))
    return None
