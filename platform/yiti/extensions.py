"""Functions a pack's hooks mark for the engine besides record hooks.

:func:`yiti.api.endpoint` and :func:`yiti.api.demo_data` set an attribute on a function in
a pack's ``hooks.py`` (or ``hooks/__init__.py``); :func:`marked` finds them, pack by pack
in load order, in the same modules the site's hook loader imported
(:meth:`yiti.records.hooks.Hooks.load_pack`), so each pack's code is imported once.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from yiti.errors import DefinitionError
from yiti.records.hooks import Hooks

if TYPE_CHECKING:
    from yiti.site import Site


def hooks_module(pack: str, path: Any) -> ModuleType:
    """The imported hooks module of ``pack`` (imported now if the site has not yet)."""
    qualified = f"yiti_packs.{pack}.hooks"
    if qualified not in sys.modules:
        Hooks().load_pack(pack, path)
    return sys.modules[qualified]


def marked(site: Site, attribute: str) -> list[tuple[str, Any, Any]]:
    """``(pack, function, mark)`` for each function of the packs' hooks marked ``attribute``."""
    return marked_in(site.model.modules, attribute)


def marked_in(modules: Any, attribute: str, *, skip_broken: bool = False
              ) -> list[tuple[str, Any, Any]]:
    """:func:`marked` for the packs ``modules`` (a model's); with ``skip_broken``, packs
    whose hooks fail to import are left out (:func:`hooks_problems` reports them)."""
    out = []
    for module in modules.values():
        if not module.hooks:
            continue
        try:
            hooks = hooks_module(module.name, module.hooks)
        except Exception:  # noqa: BLE001 - reported by hooks_problems
            if not skip_broken:
                raise
            continue
        seen: set[int] = set()
        for value in vars(hooks).values():
            mark = getattr(value, attribute, None)
            if mark is not None and callable(value) and id(value) not in seen:
                seen.add(id(value))
                out.append((module.name, value, mark))
    return out


def hooks_problems(modules: Any) -> list[DefinitionError]:
    """Import every pack's hooks as the site will (``modules``: the model's packs) and
    report each that fails, at the line of the pack's file that raised: a syntax error,
    a failed import, ``@api.hook`` with an unknown event. ``yiti check`` runs it, so such
    a mistake is found before ``yiti migrate`` or ``yiti serve`` trips over it; the
    ``schedules`` kind runs it too, once per load, when it needs the packs' jobs."""
    from yiti.definitions.source import display_path

    problems = []
    for module in modules.values():
        if not module.hooks:
            continue
        try:
            hooks_module(module.name, module.hooks)
        except Exception as error:  # noqa: BLE001 - reported, never a traceback
            path, line = Path(module.hooks), getattr(error, "lineno", None)
            # resolved: the traceback's file names are absolute, the pack's path may not be
            pack_dir = (path.parent.parent if path.name == "__init__.py"
                        else path.parent).resolve()
            if isinstance(error, SyntaxError) and error.filename:
                path = Path(error.filename)
            else:
                for frame in reversed(traceback.extract_tb(error.__traceback__)):
                    if Path(frame.filename).resolve().is_relative_to(pack_dir):
                        path, line = Path(frame.filename), frame.lineno
                        break
            problems.append(DefinitionError(
                display_path(path), int(line or 1), "hooks",
                f"cannot import the pack's hooks: {type(error).__name__}: {error}"))
    return problems
