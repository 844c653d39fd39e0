"""The state of one load: packs in order, entity drafts, definitions and problems.

Loading runs in stages over every pack's files (entities, then extensions, then the other
kinds), so a draft is mutable until :mod:`yiti.definitions.resolve` turns it into a frozen
:class:`~yiti.definitions.model.Entity`. Every value remembers the file and key it came
from (a :class:`Spot`), so a problem found late still points at the right line, even
when an extension in another pack set the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from yiti.errors import DefinitionError, DefinitionWarning

from .model import Definition, Entity, Module
from .source import KeyPath, Source

if TYPE_CHECKING:
    from .kinds import Kind

#: The module name of the site overlay.
SITE = "site"


@dataclass(frozen=True)
class Spot:
    """A key in a file: where a value was written."""

    source: Source
    path: KeyPath

    def error(self, message: str, hint: str | None = None, *sub: str | int) -> DefinitionError:
        return self.source.error((*self.path, *sub), message, hint)

    def at(self, *sub: str | int) -> Spot:
        return Spot(self.source, (*self.path, *sub))


@dataclass
class Item:
    """One definition file of a pack, read and validated against its kind's schema."""

    kind: Kind
    source: Source
    module: str
    valid: bool

    @property
    def data(self) -> dict[str, Any]:
        return self.source.data

    @property
    def spot(self) -> Spot:
        return Spot(self.source, ())


@dataclass
class FieldDraft:
    """A field's specification while extensions may still change it."""

    name: str
    spec: dict[str, Any]
    spot: Spot  # the field's own key, e.g. ("fields", "qty")
    keys: dict[str, Spot] = field(default_factory=dict)  # where each key was last set

    def where(self, key: str) -> Spot:
        """Where ``key`` of the spec was set (the field's own file unless extended)."""
        return self.keys.get(key, self.spot.at(key))


@dataclass
class EntityDraft:
    """An entity while extensions may still change it."""

    name: str
    module: str
    item: Item
    data: dict[str, Any]
    fields: dict[str, FieldDraft]
    keys: dict[str, Spot] = field(default_factory=dict)
    rules: list[tuple[dict[str, Any], Spot]] = field(default_factory=list)

    def where(self, key: str) -> Spot:
        """Where ``key`` (dotted for nested keys: ``list.sort``) was last set."""
        return self.keys.get(key, Spot(self.item.source, tuple(key.split("."))))


class Build:
    """Everything one load collects; problems are kept, never raised."""

    def __init__(self) -> None:
        self.errors: list[DefinitionError] = []
        self.warnings: list[DefinitionWarning] = []
        self.modules: dict[str, Module] = {}
        #: each module → the modules it depends on, directly or not
        self.depends: dict[str, frozenset[str]] = {}
        self.drafts: dict[str, EntityDraft] = {}
        #: entities that exist but could not be read: references to them are not errors
        self.broken: dict[str, str] = {}
        self.entities: dict[str, Entity] = {}
        self.definitions: dict[str, dict[str, Definition]] = {}
        #: every definition taken, with its file, to check once the entities are final
        self.taken: list[tuple[Item, Definition]] = []
        #: what a check could not decide because of a problem reported elsewhere (``yiti
        #: check`` names it under "Not checked until ..." rather than as a false problem)
        self.unchecked: list[str] = []

    def add(self, error: DefinitionError) -> None:
        self.errors.append(error)

    def warn(self, warning: DefinitionWarning) -> None:
        """Keep something worth a look that is not a problem: ``yiti check`` prints it,
        the site loads regardless."""
        self.warnings.append(warning)

    def knows_entity(self, name: str) -> bool:
        return name in self.drafts or name in self.broken

    def entity_names(self) -> list[str]:
        return [*self.drafts, *self.broken]
