"""Functions a pack's hooks mark for the engine besides record hooks.

:func:`yiti.api.endpoint` and :func:`yiti.api.demo_data` set an attribute on a function in
a pack's ``hooks.py`` (or ``hooks/__init__.py``); :func:`marked` finds them, pack by pack
in load order, in the same modules the site's hook loader imported
(:meth:`yiti.records.hooks.Hooks.load_pack`), so each pack's code is imported once.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

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
    out = []
    for module in site.model.modules.values():
        if not module.hooks:
            continue
        seen: set[int] = set()
        for value in vars(hooks_module(module.name, module.hooks)).values():
            mark = getattr(value, attribute, None)
            if mark is not None and callable(value) and id(value) not in seen:
                seen.add(id(value))
                out.append((module.name, value, mark))
    return out
