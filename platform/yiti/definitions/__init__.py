"""Definitions: module packs' YAML/JSON files → one validated, immutable :class:`Model`.

Pure: no database and no web. :func:`load_model` raises
:class:`~yiti.errors.DefinitionErrors` listing every problem (each ``path:line: key:
message``); :func:`check` returns them instead. New kinds of definition files register
with :func:`register_kind`.
"""

from .kinds import Kind, register_kind
from .loader import build_model, check, load_model, load_settings_model
from .model import (
    FIELD_TYPES,
    SYSTEM_COLUMNS,
    Definition,
    Entity,
    Field,
    ListDefaults,
    Location,
    Model,
    Module,
    Naming,
    Option,
    Rule,
    label_text,
)

__all__ = [
    "FIELD_TYPES",
    "SYSTEM_COLUMNS",
    "Definition",
    "Entity",
    "Field",
    "Kind",
    "ListDefaults",
    "Location",
    "Model",
    "Module",
    "Naming",
    "Option",
    "Rule",
    "build_model",
    "check",
    "label_text",
    "load_model",
    "load_settings_model",
    "register_kind",
]
