"""Finding module packs, choosing the ones to load, and ordering them by dependency.

A pack is a folder holding ``module.yaml``. A module path is a folder of packs (or itself
a pack). Packs load in dependency order: a pack after everything it depends on, and
packs that could go in either order by name, so the order is the same on every machine.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from yiti.errors import DefinitionError, did_you_mean

from .build import Build
from .fields import make_label
from .model import Location, Module
from .source import MANIFEST, Source, display_path, read_source
from .validate import validate


@dataclass
class Pack:
    """A pack found on disk, read whether or not its manifest is valid."""

    name: str  # the folder's name
    path: Path
    source: Source
    depends: tuple[str, ...]
    module: Module


def discover(module_paths: Sequence[Path], build: Build) -> dict[str, Pack]:
    """Every pack under ``module_paths``, by name; problems go to ``build``."""
    packs: dict[str, Pack] = {}
    for root in module_paths:
        root = Path(root)
        if not root.is_dir():
            build.add(DefinitionError(display_path(root), 0, "(modules)", "no such folder"))
            continue
        folders = [root] if (root / MANIFEST).is_file() else sorted(
            p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
        )
        for folder in folders:
            if not (folder / MANIFEST).is_file():
                if (folder / "entities").is_dir():
                    build.add(DefinitionError(
                        display_path(folder), 0, "(pack)", f"no {MANIFEST} in this pack folder",
                        "add a module.yaml with name and version",
                    ))
                continue
            pack = _read_pack(folder, build)
            if pack.name in packs:
                build.add(pack.source.error(
                    ("name",), f"duplicate pack {pack.name!r}",
                    f"also at {display_path(packs[pack.name].path)}",
                ))
                continue
            packs[pack.name] = pack
    return packs


def _read_pack(folder: Path, build: Build) -> Pack:
    source = read_source(folder / MANIFEST)
    problems = source.problems or validate(source, "module.schema.json")
    for problem in problems:
        build.add(problem)
    data = source.data if isinstance(source.data, dict) else {}
    name = folder.name
    if not source.problems and isinstance(data.get("name"), str) and data["name"] != name:
        build.add(source.error(
            ("name",), f"pack name {data['name']!r} differs from its folder {name!r}",
            "a pack's name is its folder's name: rename one of them",
        ))
    depends = data.get("depends")
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        depends = []
    version = data.get("version")
    hooks = folder / "hooks.py"
    module = Module(
        name=name,
        version=version if isinstance(version, str) else "0",
        label=make_label(data.get("label") if not problems else None, name),
        depends=tuple(depends),
        path=folder,
        hooks=hooks if hooks.is_file() else (
            folder / "hooks" / "__init__.py" if (folder / "hooks" / "__init__.py").is_file()
            else None),
        location=Location(source.display, 1),
    )
    return Pack(name, folder, source, tuple(depends), module)


def select(packs: dict[str, Pack], names: Iterable[str] | None, build: Build) -> dict[str, Pack]:
    """The packs named (all when None) and everything they depend on."""
    if names is None:
        return dict(packs)
    chosen: dict[str, Pack] = {}
    todo = []
    for name in names:
        if name in packs:
            todo.append(name)
        else:
            build.add(DefinitionError(
                "(settings)", 0, "packs", f"unknown pack {name!r}", did_you_mean(name, packs)
                or f"packs found: {', '.join(sorted(packs)) or 'none'}",
            ))
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        chosen[name] = packs[name]
        todo.extend(d for d in packs[name].depends if d in packs)
    return chosen


def dependency_order(packs: dict[str, Pack], build: Build) -> list[Pack]:
    """``packs`` topologically sorted, ties by name; unknown packs and cycles reported."""
    waiting: dict[str, set[str]] = {}
    for pack in packs.values():
        waiting[pack.name] = set()
        for index, dep in enumerate(pack.depends):
            if dep in packs:
                waiting[pack.name].add(dep)
            elif dep == pack.name:
                build.add(pack.source.error(("depends", index), "a pack cannot depend on itself"))
            else:
                build.add(pack.source.error(
                    ("depends", index), f"depends on unknown pack {dep!r}",
                    did_you_mean(dep, packs) or "is its folder under a module path?",
                ))
    waiting = {n: d - {n} for n, d in waiting.items()}
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, other)
    left = {n: d for n, d in waiting.items() if n not in order}
    reported: set[str] = set()
    for name in sorted(left):
        if name in reported:
            continue
        cycle = _cycle(name, left)
        if cycle:
            reported.update(cycle)
            first = packs[cycle[0]]
            index = list(first.depends).index(cycle[1])
            build.add(first.source.error(
                ("depends", index), "dependency cycle: " + " → ".join([*cycle, cycle[0]]),
                "a pack cannot depend, directly or not, on a pack that depends on it",
            ))
    order.extend(sorted(left))  # still checked, in a stable order
    return [packs[name] for name in order]


def _cycle(start: str, deps: dict[str, set[str]]) -> list[str] | None:
    """A cycle through ``start`` (smallest names first), or None."""
    path: list[str] = []

    def walk(name: str) -> list[str] | None:
        if name in path:
            return path[path.index(name):]
        path.append(name)
        for dep in sorted(deps.get(name, ())):
            found = walk(dep)
            if found:
                return found
        path.pop()
        return None

    found = walk(start)
    if not found:
        return None
    pivot = found.index(min(found))
    return found[pivot:] + found[:pivot]


def transitive_depends(order: list[Pack]) -> dict[str, frozenset[str]]:
    """Each pack → every pack it depends on, directly or not."""
    result: dict[str, frozenset[str]] = {}
    names = {p.name for p in order}
    for pack in order:
        seen: set[str] = set()
        todo = [d for d in pack.depends if d in names]
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(d for p in order if p.name == dep for d in p.depends if d in names)
        result[pack.name] = frozenset(seen)
    return result
