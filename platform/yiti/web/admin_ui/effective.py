"""The rules in force for one role, shaped for the permissions page (no IO, no Flask).

For every entity the role's access row is the entity's own row or else the role's ``*``
row (:meth:`~yiti.permissions.rules.RuleSet.grant`), exactly as the policy decides; each
rule keeps its source (``path:line`` or ``override #n``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from yiti.definitions.model import Entity, Model
from yiti.permissions.rules import FieldRule, Grant, RowRule, RuleSet


@dataclass(frozen=True)
class EntityRules:
    """One line of the table: what ``role`` may do on ``entity`` and why."""

    name: str  # an entity's name, or "*"
    entity: Entity | None
    grant: Grant | None
    rows: tuple[RowRule, ...] = ()
    fields: tuple[FieldRule, ...] = ()
    overrides: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def actions(self) -> frozenset[str]:
        return self.grant.actions if self.grant else frozenset()

    @property
    def inherited(self) -> bool:
        """True when the actions come from the role's ``*`` row, not the entity's own."""
        return self.grant is not None and self.grant.entity != self.name


def screen_entities(model: Model) -> list[Entity]:
    """Entities with permissions of their own (child lines follow their document)."""
    return sorted((e for e in model.entities.values() if not e.child), key=lambda e: e.name)


def role_rules(rules: RuleSet, model: Model, role: str,
               overrides: Iterable[Mapping[str, Any]] = ()) -> list[EntityRules]:
    """Every entity (and ``*``) with the role's access row, row rules and field rules."""
    by_key: dict[str, dict[tuple[str, str], int]] = {}
    for row in overrides:
        if row["role"] == role:
            by_key.setdefault(row["entity"], {})[(row["kind"], row["field"] or "")] = row["id"]
    out = [EntityRules("*", None, rules.grants.get((role, "*")),
                       overrides=by_key.get("*", {}))]
    for entity in screen_entities(model):
        out.append(EntityRules(
            entity.name, entity, rules.grant(role, entity.name),
            rules.rows.get((role, entity.name), ()),
            tuple(rules.fields.get((role, entity.name), {}).values()),
            by_key.get(entity.name, {})))
    return out


def roles_in_force(rules: RuleSet, known: Iterable[str]) -> list[str]:
    """Roles to choose from: declared, granted anything, or created by administrators."""
    return sorted(set(rules.role_names()) | set(known))
