"""Loading a site's definitions: packs → files → validated data → one immutable :class:`Model`.

The stages: find the packs and order them by dependency (:mod:`.packs`); read every
definition file of every pack, then the site overlay (:mod:`.source`), and validate it
against its kind's schema (:mod:`.validate`); take the entities, then the extensions
(:mod:`.merge`), then every other kind (:mod:`.kinds`); resolve the entities
(:mod:`.resolve`) and check the other definitions against them (:mod:`.refs`).
Every problem is collected; nothing stops at the first. With problems there is no model
to load, but ``yiti check`` takes the model of what was found fine (:func:`build_partial`)
to run the checks that need one in the same pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from yiti.config import Settings
from yiti.errors import DefinitionError, DefinitionErrors, DefinitionWarning

from . import merge, refs, resolve  # noqa: F401  (they register the built-in kinds)
from .build import SITE, Build, Item
from .kinds import KINDS, kind_for_folder, kind_of_data
from .model import Definition, Entity, Location, Model, Module
from .packs import dependency_order, discover, select, transitive_depends
from .source import EXTENSIONS, display_path, read_source
from .validate import validate


def load_model(
    module_paths: Sequence[Path],
    *,
    packs: Sequence[str] | None = None,
    overlay: Path | None = None,
) -> Model:
    """The model of the packs under ``module_paths`` (only ``packs`` and their
    dependencies when given) with the site ``overlay`` applied last.

    Raises :class:`~yiti.errors.DefinitionErrors` listing every problem found.
    """
    model, errors = build_model(module_paths, packs=packs, overlay=overlay)
    if errors:
        raise DefinitionErrors(errors)
    assert model is not None
    return model


def check(
    module_paths: Sequence[Path],
    *,
    packs: Sequence[str] | None = None,
    overlay: Path | None = None,
) -> list[DefinitionError]:
    """Every problem of the definitions :func:`load_model` would load; empty when fine."""
    return build_model(module_paths, packs=packs, overlay=overlay)[1]


def load_settings_model(settings: Settings) -> Model:
    """:func:`load_model` with the site's settings (module paths, packs, overlay)."""
    return load_model(settings.module_paths, packs=settings.packs, overlay=settings.overlay)


def build_model(
    module_paths: Sequence[Path],
    *,
    packs: Sequence[str] | None = None,
    overlay: Path | None = None,
) -> tuple[Model | None, list[DefinitionError]]:
    """The model (None when there are problems) and the problems, sorted by file and line."""
    build, _ = _load(module_paths, packs=packs, overlay=overlay)
    errors = _unique(build.errors)
    if errors:
        return None, errors
    return _model(build, build.entities, build.definitions), []


E = TypeVar("E", bound=DefinitionError)


@dataclass(frozen=True)
class Partial:
    """A load for ``yiti check``: the problems, and the model of what was found fine, so
    the checks that need a model (formulas, hooks, endpoints) run in the same pass."""

    model: Model
    problems: list[DefinitionError]
    #: entities left out of ``model`` (see :func:`build_partial`), by name
    left_out: tuple[str, ...]
    #: what the checks of the files could not decide because of a problem elsewhere
    unchecked: tuple[str, ...] = ()
    #: not problems, but worth a look (a label missing in one of the site's languages)
    warnings: tuple[DefinitionWarning, ...] = ()


def build_partial(
    module_paths: Sequence[Path],
    *,
    packs: Sequence[str] | None = None,
    overlay: Path | None = None,
) -> Partial:
    """:func:`build_model` for ``yiti check``: even with problems, a model of every pack,
    and of every entity and definition none of whose files has a problem. The rest is
    absent: a refused entity, one whose file or extension has a problem (a field of it may
    be missing, so its formulas would seem to name unknown fields), a child entity whose
    parent is not known, and any other definition whose file has a problem. Only for
    checking: the site loads with :func:`load_model`, which refuses any problem."""
    build, items = _load(module_paths, packs=packs, overlay=overlay)
    errors = _unique(build.errors)
    bad_files = {error.path for error in errors}
    left_out = _entities_left_out(build, items, bad_files)
    entities = {n: e for n, e in build.entities.items() if n not in left_out}
    definitions = {
        folder: {
            name: d for name, d in found.items()
            if d.location is None or d.location.path not in bad_files
        }
        for folder, found in build.definitions.items()
    }
    return Partial(_model(build, entities, definitions), errors, tuple(sorted(left_out)),
                   tuple(dict.fromkeys(build.unchecked)), tuple(_unique(build.warnings)))


def _load(
    module_paths: Sequence[Path],
    *,
    packs: Sequence[str] | None,
    overlay: Path | None,
) -> tuple[Build, list[Item]]:
    """Read, take, resolve and check every file; the load and its files."""
    build = Build()
    found = discover([Path(p) for p in module_paths], build)
    ordered = dependency_order(select(found, packs, build), build)
    build.depends = transitive_depends(ordered)
    folders = [(pack.name, pack.path) for pack in ordered]
    for pack in ordered:
        build.modules[pack.name] = pack.module
    if overlay is not None:
        overlay = Path(overlay)
        if overlay.is_dir():
            build.modules[SITE] = Module(
                name=SITE, version="0", label=MappingProxyType({"en": "Site"}),
                depends=tuple(p.name for p in ordered), path=overlay,
                hooks=overlay / "hooks.py" if (overlay / "hooks.py").is_file() else None,
                location=Location(display_path(overlay)),
            )
            build.depends[SITE] = frozenset(p.name for p in ordered)
            folders.append((SITE, overlay))
        else:
            build.add(DefinitionError(display_path(overlay), 0, "overlay", "no such folder"))

    items = [item for module, path in folders for item in _read_pack_files(build, module, path)]
    for item in sorted(items, key=lambda i: i.kind.stage):  # stable: pack order within a stage
        item.kind.take(build, item)
    build.entities = resolve.resolve_entities(build)
    for item, definition in build.taken:
        if item.kind.check is not None and item.valid:
            item.kind.check(build, definition, item)
    return build, items


def _model(
    build: Build,
    entities: Mapping[str, Entity],
    definitions: Mapping[str, Mapping[str, Definition]],
) -> Model:
    """The :class:`Model` of the load's packs with these entities and definitions."""
    kinds = {kind.folder: kind for kind in KINDS.values()}
    by_attr = {
        kind.attr: MappingProxyType(dict(definitions.get(folder, {})))
        for folder, kind in kinds.items() if kind.attr
    }
    extra = {
        folder: MappingProxyType(dict(found))
        for folder, found in definitions.items()
        if folder not in kinds or not kinds[folder].attr
    }
    return Model(
        modules=MappingProxyType(dict(build.modules)),
        entities=MappingProxyType(dict(entities)),
        extra=MappingProxyType(extra),
        **by_attr,
    )


def _entities_left_out(build: Build, items: list[Item], bad_files: set[str]) -> set[str]:
    """The entities a partial model leaves out (see :func:`build_partial`)."""
    files = {name: {draft.item.source.display} for name, draft in build.drafts.items()}
    for item in items:
        extended = item.data.get("extends")
        if item.kind.name == "extension" and isinstance(extended, str) and extended in files:
            files[extended].add(item.source.display)
    left_out = set(build.broken) | {name for name, own in files.items() if own & bad_files}
    # a child's parent may be the refused entity: without it, ``parent`` looks unknown
    orphans = {name for name, e in build.entities.items() if e.child and e.parent is None}
    return left_out | orphans


def _read_pack_files(build: Build, module: str, folder: Path) -> list[Item]:
    """Read and validate every definition file of one pack (or the overlay)."""
    items = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        kind = kind_for_folder(sub.name)
        if kind is None:
            continue
        for path in sorted(p for p in sub.iterdir() if p.suffix in EXTENSIONS and p.is_file()):
            source = read_source(path)
            if source.problems:
                for problem in source.problems:
                    build.add(problem)
                if kind.name == "entity":  # unreadable: assume it is named like its file,
                    build.broken.setdefault(path.stem, module)  # so links to it stay quiet
                continue
            problems = []
            other = kind_of_data(source.data, besides=kind)
            if other is not None:  # not this kind at all: take it nowhere
                build.add(source.error(
                    (other.key,), f"a {other.name} definition in {sub.name}/",
                    f"move it to {other.folder}/, or start the file with '{kind.key}:'",
                ))
                continue
            problems = validate(source, kind.schema) if kind.schema else []
            for problem in problems:
                build.add(problem)
            items.append(Item(kind, source, module, valid=not problems))
    return items


def _unique(errors: list[E]) -> list[E]:
    seen: dict[str, E] = {}
    for error in errors:
        seen.setdefault(str(error), error)
    return sorted(seen.values(), key=lambda e: (e.path.startswith("("), e.path, e.line))
