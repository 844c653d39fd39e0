"""Validating a file's data against its kind's JSON Schema in ``metadata/``.

jsonschema's errors are turned into located :class:`DefinitionError` s with messages
for people: an ``additionalProperties`` failure becomes "unknown key 'requried'" with
"did you mean 'required'?", a ``type`` failure says what was expected and what was found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from yiti.errors import DefinitionError, did_you_mean

from .source import KeyPath, Source, type_name

#: The definition language's schemas: the project's ``metadata/`` folder.
METADATA_PATH = Path(__file__).resolve().parents[3] / "metadata"

NAME_PATTERN = "^[a-z][a-z0-9_]{0,62}$"
LANGUAGE_PATTERN = "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"

_TYPE_WORDS = {
    "string": "text", "integer": "an integer", "number": "a number", "boolean": "true or false",
    "object": "a mapping", "array": "a list", "null": "null",
}


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(METADATA_PATH.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def validator(schema_file: str) -> Draft202012Validator | None:
    """The validator of ``metadata/<schema_file>``, or None when there is no such schema."""
    path = METADATA_PATH / schema_file
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def validate(source: Source, schema_file: str) -> list[DefinitionError]:
    """Every problem of ``source.data`` against ``schema_file``, located, in line order."""
    checker = validator(schema_file)
    if checker is None:
        return []
    problems: dict[tuple[int, str, str], DefinitionError] = {}
    for error in checker.iter_errors(source.data):
        for problem in _explain(source, error):
            problems.setdefault((problem.line, problem.key, problem.message), problem)
    return sorted(problems.values(), key=lambda p: (p.line, p.key))


def _explain(source: Source, error: ValidationError) -> Iterable[DefinitionError]:
    path: KeyPath = tuple(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = list(error.schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield source.error(
                    (*path, key), f"unknown key {key!r}", did_you_mean(key, known)
                    or ("allowed: " + ", ".join(known) if known else None)
                )
        return
    if kind == "required" and isinstance(instance, dict):
        for key in value:
            if key not in instance:
                yield source.error(path, f"missing required key {key!r}", key=_join(path, key))
        return
    if kind in ("oneOf", "anyOf") and isinstance(instance, dict) and value and all(
            isinstance(b, dict) and set(b) == {"required"} for b in value):
        yield from _explain_alternatives(source, path, kind, value, instance)
        return
    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        yield source.error((*path, instance), _message(error, instance))
        return
    if kind in ("anyOf", "oneOf") and error.context:
        yield from _explain_choice(source, error, path)
        return
    yield source.error(path, _message(error, instance), _hint(error, instance))


def _explain_alternatives(source: Source, path: KeyPath, kind: str,
                          branches: list[dict[str, Any]], instance: dict[str, Any]
                          ) -> Iterable[DefinitionError]:
    """``oneOf: [{required: [cron]}, {required: [every]}]``: one of the keys, (oneOf) not
    several."""
    keys = list(dict.fromkeys(k for b in branches for k in b["required"]))
    present = [k for k in keys if k in instance]
    if not present:
        yield source.error(path, "missing required key: give " + " or ".join(
            repr(k) for k in keys), key=_join(path, " or ".join(keys)))
    elif kind == "oneOf" and len(present) > 1:
        yield source.error((*path, present[1]), "give " + " or ".join(
            repr(k) for k in present) + (", not both" if len(present) == 2 else ", not several"))


def _explain_choice(
    source: Source, error: ValidationError, path: KeyPath
) -> Iterable[DefinitionError]:
    """For "string or mapping" style choices: name the types, or the best inner error."""
    expected: list[str] = []
    for sub in error.context or ():
        if sub.validator == "type" and not sub.relative_path:
            types = sub.validator_value
            expected.extend([types] if isinstance(types, str) else types)
    branches = {sub.relative_schema_path[0] for sub in error.context or ()}
    type_failures = {
        sub.relative_schema_path[0]
        for sub in error.context or ()
        if sub.validator == "type" and not sub.relative_path
    }
    if branches == type_failures:  # the value's type fits no branch
        words = " or ".join(dict.fromkeys(_TYPE_WORDS.get(t, t) for t in expected))
        yield source.error(
            path, f"expected {words}, got {type_name(error.instance)} {_short(error.instance)}"
        )
        return
    inner = best_match(
        [sub for sub in error.context or () if sub.relative_schema_path[0] not in type_failures]
    )
    if inner is not None:
        yield from _explain(source, inner)


def _message(error: ValidationError, instance: Any) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "type":
        types = [value] if isinstance(value, str) else value
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return f"expected {words}, got {type_name(instance)} {_short(instance)}"
    if kind == "enum":
        if error.absolute_path and error.absolute_path[-1] == "type":
            return f"unknown field type {_short(instance)}"
        return f"{_short(instance)} is not one of: {', '.join(str(v) for v in value)}"
    if kind == "pattern":
        if value == NAME_PATTERN:
            return (
                f"{instance!r} is not a valid name: use a lowercase letter, then lowercase "
                "letters, digits or _ (at most 63)"
            )
        if value == LANGUAGE_PATTERN:
            return f"{instance!r} is not a language code like 'en' or 'zh-CN'"
        return f"{instance!r} does not match {value}"
    if kind == "minimum":
        return f"{instance!r} is too small: the least allowed is {value}"
    if kind == "maximum":
        return f"{instance!r} is too large: the most allowed is {value}"
    if kind == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters"
    if kind == "minItems":
        return "must not be empty" if value == 1 else f"needs at least {value} items"
    if kind == "minProperties":
        return "must not be empty"
    if kind == "uniqueItems":
        seen: set[str] = set()
        twice = [v for v in instance if repr(v) in seen or seen.add(repr(v))]
        return f"lists {_short(twice[0]) if twice else 'an item'} twice"
    return error.message


def _hint(error: ValidationError, instance: Any) -> str | None:
    if error.validator == "enum" and isinstance(instance, str):
        return did_you_mean(instance, error.validator_value)
    if (
        error.validator == "type"
        and error.validator_value == "string"
        and isinstance(instance, float)
    ):
        return f"quote it: '{instance}'"
    return None


def _short(value: Any) -> str:
    if value is None:
        return "(no value)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: KeyPath, key: str) -> str:
    from .source import key_text

    return key_text((*path, key))
