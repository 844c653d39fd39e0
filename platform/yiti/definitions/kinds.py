"""The registry of definition kinds: which folder of a pack holds what.

Each :class:`Kind` names its folder, its JSON Schema in ``metadata/``, the stage it loads
in, the function that takes one file into the load (``take``) and the one that checks a
definition once the entities are final (``check``). The built-in kinds (entities,
extensions, forms, views, workflows, reports) register here exactly as later ones
(permissions, schedules, webhooks) will::

    register_kind(Kind("schedule", "schedules", "schedule.schema.json", check=check_entity))

A folder with no registered kind is still read: its files are validated against
``metadata/<singular>.schema.json`` when that exists and land in ``Model.extra[folder]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from yiti.errors import did_you_mean

from .build import SITE, Build, Item
from .model import Definition, Location

#: Folders of a pack that hold no definitions.
IGNORED_FOLDERS = frozenset({"fixtures", "i18n", "tests", "static", "templates", "__pycache__"})

Take = Callable[[Build, Item], None]
Check = Callable[[Build, Definition, Item], None]

#: Stages: every pack's entities load before any extension, extensions before the rest.
ENTITIES, EXTENSIONS, OTHERS = 0, 1, 2


def take_definition(build: Build, item: Item) -> None:
    """Keep a file as a :class:`Definition`; the site overlay may replace one by name."""
    kind, data = item.kind, item.data
    name = data.get(kind.key) if isinstance(data.get(kind.key), str) else item.source.stem
    found = build.definitions.setdefault(kind.folder, {})
    if name in found and item.module != SITE:
        previous = found[name]
        build.add(item.source.error(
            (kind.key,), f"duplicate {kind.name} {name!r}",
            f"already defined in {previous.location} by pack {previous.module!r}",
        ))
        return
    entity = data.get("entity")
    found[name] = Definition(  # a site overlay's definition replaces a pack's
        kind=kind.name,
        name=name,
        module=item.module,
        entity=entity if isinstance(entity, str) else None,
        body=MappingProxyType(data),
        location=Location(item.source.display, item.source.line((kind.key,))),
    )
    build.taken.append((item, found[name]))


def check_entity(build: Build, definition: Definition, item: Item) -> None:
    """The definition's ``entity``, when it has one, must exist."""
    if definition.entity is not None and not build.knows_entity(definition.entity):
        build.add(item.source.error(
            ("entity",), f"unknown entity {definition.entity!r}",
            did_you_mean(definition.entity, build.entity_names()),
        ))


@dataclass(frozen=True)
class Kind:
    """One kind of definition file."""

    name: str  # "form": also the key that names a definition in its file
    folder: str  # "forms"
    schema: str | None  # "form.schema.json" in metadata/, or None
    stage: int = OTHERS
    take: Take = take_definition
    check: Check | None = check_entity
    attr: str | None = None  # the Model attribute holding them; None: Model.extra[folder]
    key_name: str | None = None  # the naming key when it is not ``name`` ("extends")

    @property
    def key(self) -> str:
        return self.key_name or self.name


#: Registered kinds by folder.
KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Add (or replace) the kind of ``kind.folder``."""
    KINDS[kind.folder] = kind
    return kind


def singular(folder: str) -> str:
    """``schedules`` → ``schedule``, ``entities`` → ``entity``."""
    if folder.endswith("ies"):
        return folder[:-3] + "y"
    if folder.endswith("s") and not folder.endswith("ss"):
        return folder[:-1]
    return folder


def kind_for_folder(folder: str) -> Kind | None:
    """The kind of a pack's folder: registered, generic, or None for ignored folders."""
    if folder in IGNORED_FOLDERS or folder.startswith((".", "_")):
        return None
    if folder in KINDS:
        return KINDS[folder]
    name = singular(folder)
    return Kind(name, folder, f"{name}.schema.json")


def kind_of_data(data: dict[str, object], besides: Kind) -> Kind | None:
    """Another registered kind whose naming key the data has: a file in the wrong folder.

    ``entity`` is left out: forms, views and the rest name their entity with it.
    """
    for kind in KINDS.values():
        if kind.folder != besides.folder and kind.key != "entity" and kind.key in data:
            return kind
    return None
