"""The JSON Schemas in metadata/: valid, their examples valid, every key documented."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from yiti.definitions import FIELD_TYPES
from yiti.definitions.fields import COMMON_KEYS, TYPE_KEYS
from yiti.definitions.validate import METADATA_PATH, validator

from .conftest import ROOT

SCHEMAS = sorted(p.name for p in METADATA_PATH.glob("*.schema.json"))
DOCS = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_and_documented(name: str):
    schema = json.loads((METADATA_PATH / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema.get("title") and schema.get("description")
    checker = validator(name)
    for example in schema.get("examples", ()):
        assert list(checker.iter_errors(example)) == []
    for key, spec in schema.get("properties", {}).items():
        assert "description" in spec or "$ref" in spec, f"{name}: {key} has no description"


def test_field_schema_knows_every_type_and_key():
    field = json.loads((METADATA_PATH / "entity.schema.json").read_text())["$defs"]["field"]
    assert tuple(field["properties"]["type"]["enum"]) == FIELD_TYPES
    keys = set(COMMON_KEYS).union(*TYPE_KEYS.values())
    assert set(field["properties"]) == keys
    assert set(TYPE_KEYS) == set(FIELD_TYPES)


@pytest.mark.parametrize("word", [*FIELD_TYPES, *sorted(set(COMMON_KEYS).union(*TYPE_KEYS.values()))])
def test_docs_name_every_field_type_and_key(word: str):
    assert f"`{word}`" in DOCS


@pytest.mark.parametrize("name", ["entity", "extension", "form", "view", "module"])
def test_docs_name_every_top_level_key(name: str):
    schema = json.loads((METADATA_PATH / f"{name}.schema.json").read_text())
    for key in schema["properties"]:
        assert f"`{key}`" in DOCS, f"docs/definitions.md does not mention {name} key {key!r}"
