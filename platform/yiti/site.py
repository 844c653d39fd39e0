"""A site: its settings, definitions, database and hooks, put together once.

Everything that serves requests or runs jobs holds one :class:`Site` and asks it for a
record service per actor: ``site.records(actor).create("customer", {...})``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from yiti.automation import install as install_scripts
from yiti.config import Settings
from yiti.db import create_engine
from yiti.definitions.model import Model
from yiti.parts import register_all
from yiti.permissions import policy_for
from yiti.permissions.policy import SYSTEM, Actor, Policy
from yiti.records.hooks import Hooks
from yiti.schema.tables import build_metadata
from yiti.scripting import set_timezone

if TYPE_CHECKING:
    from yiti.records.service import Records
    from yiti.schema.migrate import MigrationResult


class Site:
    def __init__(self, settings: Settings, *, model: Model | None = None,
                 engine: Engine | None = None, policy: Policy | None = None) -> None:
        register_all()
        if model is None:
            from yiti.definitions import load_settings_model

            model = load_settings_model(settings)
        self.settings = settings
        set_timezone(settings.timezone)  # today() and now() in formulas
        self.model = model
        self.engine = engine or create_engine(settings.database_url)
        self.metadata = build_metadata(model)
        self.tables = self.metadata.tables
        self.hooks = Hooks()
        for module in model.modules.values():
            if module.hooks:
                self.hooks.load_pack(module.name, module.hooks)
        self.policy: Policy = policy or policy_for(self)
        install_scripts(self)

    def records(self, actor: Actor = SYSTEM) -> Records:
        from yiti.records.service import Records

        return Records(self, actor)

    def migrate(self, *, allow_destructive: bool = False, dry_run: bool = False
                ) -> MigrationResult:
        from yiti.schema.migrate import migrate

        return migrate(self.engine, self.model, allow_destructive=allow_destructive,
                       dry_run=dry_run, timezone=self.settings.timezone)

    def close(self) -> None:
        self.engine.dispose()
