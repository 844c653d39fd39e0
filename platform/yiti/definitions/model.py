"""The resolved definition model: immutable, plain data, no database and no web.

Everything the engine knows about a site's entities, forms, views, workflows and reports
is one :class:`Model`, built by :func:`yiti.definitions.load_model` from module packs and
the site overlay. Other parts of the engine read it; nothing writes to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

#: A label in one or more languages: ``{"en": "Order", "zh-CN": "订单"}``.
Label = Mapping[str, str]

#: Field types of the definition language. The registry of what each means to the
#: database lives in ``yiti.schema.types``; to the record service in ``yiti.records.coerce``.
FIELD_TYPES = (
    "string", "text", "integer", "decimal", "money", "percent", "boolean", "date",
    "datetime", "select", "link", "table", "email", "phone", "url", "json", "attachment",
)

#: Columns every entity table has; field names may not use them.
SYSTEM_COLUMNS = (
    "id", "name", "version", "created_at", "created_by", "modified_at", "modified_by",
    "docstatus", "amended_from", "parent_id", "idx",
)

DOCSTATUS = ("draft", "submitted", "cancelled")


@dataclass(frozen=True)
class Location:
    """Where a definition came from, for error messages: ``path:line``."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Option:
    """One choice of a select field."""

    value: str
    label: Label


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: Label
    help: Label = field(default_factory=dict)
    required: bool = False
    unique: bool = False
    default: Any = None
    min: Any = None  # Decimal/int/date for numbers and dates; length for strings
    max: Any = None
    pattern: str | None = None
    read_only: bool = False
    indexed: bool = False
    max_length: int | None = None  # string, email, phone, url
    precision: int | None = None  # decimal, money, percent: total digits
    scale: int | None = None  # decimal, money, percent: digits after the point
    currency: str | None = None  # money: a fixed ISO code (default CNY) ...
    currency_field: str | None = None  # ... or the name of a field holding it
    options: tuple[Option, ...] = ()  # select
    target: str | None = None  # link: the entity linked to; table: the child entity
    on_delete: str = "restrict"  # link: restrict | set null | cascade
    # link to a child entity (a line): the link field naming the document the line must
    # belong to; on a line, a field of the line or else (within_parent) of its document
    within: str | None = None
    within_parent: bool = False
    renamed_from: str | None = None
    convert: str | None = None  # "parse": re-read old values with this field's type
    formula: str | None = None  # computed field: an expression (see yiti.scripting)
    required_if: str | None = None  # required while this expression over the record holds
    location: Location | None = None
    required_if_at: Location | None = None  # where required_if was set (maybe an extension)

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_link(self) -> bool:
        return self.type == "link"

    @property
    def is_line_link(self) -> bool:
        """Whether the field links one line of a document (a link to a child entity)."""
        return self.type == "link" and self.within is not None

    @property
    def stored(self) -> bool:
        """Whether the field is a column of its entity's table (table fields are not)."""
        return self.type != "table"


@dataclass(frozen=True)
class Naming:
    """How a record's ``name`` is made. ``series`` like ``SO-{YYYY}-{#####}``."""

    series: str | None = None
    gapless: bool = False
    field: str | None = None  # name taken from this field's value instead of a series


@dataclass(frozen=True)
class ListDefaults:
    columns: tuple[str, ...] = ()
    sort: tuple[str, ...] = ("-id",)  # "-field" sorts descending
    page_size: int = 20


@dataclass(frozen=True)
class Rule:
    """A validation rule: when ``condition`` is false, ``message`` blames ``field``."""

    condition: str
    message: Label
    field: str | None = None
    location: Location | None = None


@dataclass(frozen=True)
class Entity:
    name: str
    module: str
    label: Label
    fields: Mapping[str, Field]
    child: bool = False  # a child entity: lines of a parent's table field
    parent: str | None = None  # set by resolution for child entities
    unique_together: tuple[tuple[str, ...], ...] = ()
    naming: Naming = Naming()
    title_field: str | None = None
    search_fields: tuple[str, ...] = ()
    submittable: bool = False
    track_changes: bool = True
    list_defaults: ListDefaults = ListDefaults()
    rules: tuple[Rule, ...] = ()
    renamed_from: str | None = None
    description: Label = field(default_factory=dict)
    location: Location | None = None

    @property
    def table_name(self) -> str:
        return self.name

    # Cached: the record service asks on every write.
    @cached_property
    def stored_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields.values() if f.stored)

    @cached_property
    def table_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields.values() if f.is_table)


@dataclass(frozen=True)
class Module:
    name: str
    version: str
    label: Label
    depends: tuple[str, ...]
    path: Path
    hooks: Path | None = None  # hooks.py (or hooks/__init__.py) when the pack has one
    location: Location | None = None


@dataclass(frozen=True)
class Definition:
    """A form, view, workflow or report: validated against its JSON Schema, kept as data.

    The parts of the engine that use them (web, workflow, reports) read ``body``.
    """

    kind: str
    name: str
    module: str
    entity: str | None
    body: Mapping[str, Any]
    location: Location | None = None


@dataclass(frozen=True)
class Model:
    modules: Mapping[str, Module]  # in dependency order
    entities: Mapping[str, Entity]
    forms: Mapping[str, Definition] = field(default_factory=dict)
    views: Mapping[str, Definition] = field(default_factory=dict)
    workflows: Mapping[str, Definition] = field(default_factory=dict)
    reports: Mapping[str, Definition] = field(default_factory=dict)
    extra: Mapping[str, Mapping[str, Definition]] = field(default_factory=dict)  # other kinds added by later work (permissions, schedules, webhooks...)

    def entity(self, name: str) -> Entity:
        """The entity called ``name``; raises :class:`KeyError` with a suggestion."""
        try:
            return self.entities[name]
        except KeyError:
            from difflib import get_close_matches

            hint = get_close_matches(name, list(self.entities), n=1)
            msg = f"unknown entity {name!r}"
            if hint:
                msg += f"; did you mean {hint[0]!r}?"
            raise KeyError(msg) from None


def label_text(label: Label | str | None, lang: str = "en") -> str:
    """The best text of a label for ``lang``, falling back to English, then any."""
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    return label.get(lang) or label.get(lang.split("-")[0]) or label.get("en") or next(
        iter(label.values()), ""
    )
