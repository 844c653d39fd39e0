"""JSON Schemas that take a select field's choices from the definitions.

Where a pack's own JSON Schema (an ``@api.endpoint``'s ``request`` or ``response``,
docs/hooks.md) would list the values of a select field, it says whose they are instead::

    "carrier": {"type": ["string", "null"], "x-yiti-options": "shipment.carrier"}

:func:`resolve_options` turns that into ``"enum"``: the field's option values as the
site's model has them (another pack's extension or the site's overlay adding a carrier
included), and ``null`` when the schema's ``type`` allows it. So the API accepts exactly
what the record accepts, and the OpenAPI document lists it. :func:`options_problems`
says what is wrong with a reference (``yiti check`` reports it at the endpoint).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from yiti.errors import did_you_mean

from .model import Model
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
