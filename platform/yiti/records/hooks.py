"""Events a pack (or another part of the engine) can hook on records.

A pack's ``hooks.py`` marks functions with :func:`yiti.api.hook`; the engine finds them
when it loads the pack. A hook is called as ``fn(doc, ctx)``: ``doc`` is the record as a
dict (change it in ``before_*`` events to set values), ``ctx`` a :class:`HookContext`.
Raise :class:`yiti.errors.ValidationError` to refuse the operation; everything it did rolls back.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import types
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yiti.permissions.policy import SYSTEM
from yiti.times import local_time, site_now

if TYPE_CHECKING:
    from yiti.definitions.model import Entity
    from yiti.records.service import Records

#: Each event with when it runs. Kept in one place; docs/hooks.md is checked against it.
EVENTS: dict[str, str] = {
    "before_validate": "before values are checked; set defaults or derived values here",
    "validate": "after the engine's checks passed; raise ValidationError to refuse",
    "before_save": "just before the row is written (create and update)",
    "after_save": "after the row and its lines are written, in the same transaction",
    "before_delete": "before a record is deleted; raise to refuse",
    "after_delete": "after a record is deleted, in the same transaction",
    "on_submit": "when a draft is submitted: after its checks and validate, before "
                 "before_save, in the same transaction",
    "on_cancel": "when a submitted record is cancelled: after its checks and validate, "
                 "before before_save, in the same transaction",
}

Hook = Callable[[dict[str, Any], "HookContext"], None]

#: Marker set by :func:`yiti.api.hook` on a pack's functions.
MARK = "__yiti_hook__"


@dataclass
class HookContext:
    records: Records
    entity: str
    event: str
    old: Mapping[str, Any] | None = None  # the record before this change, if any
    #: for a workflow's ``hook`` step: action, from, to, user, comment, inputs, at
    transition: Mapping[str, Any] | None = None

    @property
    def user(self) -> str:
        return self.records.actor.name

    @property
    def system(self) -> Records:
        """The record service as the system, in the same transaction: for invariants that
        must hold over every record (a total across stores), which ``records`` would count
        only where the user's row rules let it see. What it reads is not for the user."""
        return self.records.site.records(SYSTEM)

    def now(self) -> dt.datetime:
        """The current time in the site's time zone (``YITI_TIMEZONE``), aware: the job
        layer's clock, which tests move (:func:`yiti.times.site_now`)."""
        site = self.records.site
        return local_time(site_now(site), site.settings.timezone)

    def today(self) -> dt.date:
        """Today's date in the site's time zone (not the server's): the date of
        :meth:`now`."""
        return self.now().date()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction commits (never if it rolls back)."""
        self.records.after_commit(callback)


def run(records: Records, entity: Entity, event: str, doc: dict[str, Any],
        old: Mapping[str, Any] | None) -> None:
    """Call the hooks of ``entity`` for ``event`` on ``doc``, as ``records``' actor."""
    hooks = records.site.hooks.for_event(entity.name, event)
    if not hooks:
        return
    ctx = HookContext(records, entity.name, event, old)
    for hook in hooks:
        hook(doc, ctx)


@dataclass
class Hooks:
    """Registry of hooks by (entity, event); entity ``"*"`` hooks every entity."""

    by_key: dict[tuple[str, str], list[Hook]] = field(default_factory=lambda: defaultdict(list))

    def add(self, entity: str, event: str, fn: Hook) -> None:
        if event not in EVENTS:
            from yiti.errors import did_you_mean

            hint = did_you_mean(event, EVENTS)
            raise ValueError(f"unknown event {event!r}" + (f"; {hint}" if hint else ""))
        self.by_key[(entity, event)].append(fn)

    def for_event(self, entity: str, event: str) -> list[Hook]:
        return [*self.by_key.get((entity, event), ()), *self.by_key.get(("*", event), ())]

    def load_pack(self, module_name: str, path: Path) -> None:
        """Import a pack's hooks.py and register the functions it marks."""
        qualified = f"yiti_packs.{module_name}.hooks"
        if qualified in sys.modules:
            module = sys.modules[qualified]
        else:
            # The pack's folder is the package yiti_packs.<pack>, so hooks.py can import
            # the pack's other modules (from . import pricing); hooks/__init__.py makes
            # hooks a package of its own (from . import pricing finds hooks/pricing.py).
            package = path.parent if path.name == "__init__.py" else None
            pack_dir = path.parent.parent if package else path.parent
            _register_package("yiti_packs", None)
            _register_package(f"yiti_packs.{module_name}", pack_dir)
            spec = importlib.util.spec_from_file_location(
                qualified, path,
                submodule_search_locations=[str(package)] if package else None)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[qualified] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                # never leave a half-imported module behind: the next import must fail
                # the same way rather than find a module missing what failed
                del sys.modules[qualified]
                raise
        for value in vars(module).values():
            for entity, event in getattr(value, MARK, ()):
                self.add(entity, event, value)


def _register_package(name: str, folder: Path | None) -> None:
    """Put an empty package for ``name`` in sys.modules, searching ``folder``."""
    if name in sys.modules:
        return
    package = types.ModuleType(name)
    package.__path__ = [str(folder)] if folder else []
    package.__package__ = name
    sys.modules[name] = package
