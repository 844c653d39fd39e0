"""Who is acting, and the interface every permission policy offers the record service.

The record service asks the policy before every read and write; the web UI, the REST
API, reports, exports and scripts never decide on their own. A policy answers five
questions; one rule therefore serves a list query (as a SQL condition) and a single
record check, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table

from yiti.definitions.model import Entity

ACTIONS = ("read", "create", "write", "delete", "submit", "cancel", "export", "import")
#: The attribute a row rule names (``user: name``) to compare with the user's own name,
#: their sign-in name; no user attribute may be called so (see users.check_attributes).
USER_NAME = "name"


@dataclass(frozen=True)
class Actor:
    """The user (or integration, or the system) on whose behalf the service acts."""

    name: str
    roles: frozenset[str] = frozenset()
    system: bool = False
    #: Values row rules compare with: the user's store, supplier, department...
    attributes: Mapping[str, Any] = field(default_factory=dict)
    #: An API token's scopes (``read:*``, ``write:loan``...); None: not limited by a token.
    scopes: frozenset[str] | None = None
    #: Nobody signed in (a public page's visitor): ``name`` is a placeholder, not a user's,
    #: so a row rule comparing with the user's name matches nothing for it.
    anonymous: bool = False

    def rule_value(self, attribute: str) -> Any:
        """What a row rule's ``user: <attribute>`` compares with: the attribute, or for
        the reserved ``name`` the user's own name (None for the system and anonymous
        callers, whose names are no user's: a rule then matches nothing)."""
        if attribute == USER_NAME:
            return None if self.system or self.anonymous or not self.name else self.name
        return self.attributes.get(attribute)


SYSTEM = Actor("system", frozenset({"System"}), system=True)


class Policy(Protocol):
    def check(self, actor: Actor, entity: Entity, action: str,
              record: Mapping[str, Any] | None = None) -> None:
        """Raise :class:`yiti.errors.Forbidden` (or NotFound, to hide) when not allowed."""

    def row_filter(self, actor: Actor, entity: Entity, table: Table
                   ) -> ColumnElement[bool] | None:
        """A condition limiting which rows ``actor`` may see, or None for all."""

    def row_fields(self, actor: Actor, entity: Entity, action: str) -> frozenset[str] | None:
        """The fields whose values decide whether a record ``actor`` writes (``action``:
        create, write, submit, cancel) matches the row rules, or None when no row rule
        limits it. The record service checks the values about to be written again when
        one of these changed after the check (a hook or a formula set it)."""

    def readable(self, actor: Actor, entity: Entity) -> frozenset[str] | None:
        """Field names ``actor`` may read, or None for all."""

    def writable(self, actor: Actor, entity: Entity) -> frozenset[str] | None:
        """Field names ``actor`` may set, or None for all."""


class AllowAll:
    """The policy for the system actor and for sites without permission definitions."""

    def check(self, actor: Actor, entity: Entity, action: str,
              record: Mapping[str, Any] | None = None) -> None:
        return None

    def row_filter(self, actor: Actor, entity: Entity, table: Table
                   ) -> ColumnElement[bool] | None:
        return None

    def row_fields(self, actor: Actor, entity: Entity, action: str) -> frozenset[str] | None:
        return None

    def readable(self, actor: Actor, entity: Entity) -> frozenset[str] | None:
        return None

    def writable(self, actor: Actor, entity: Entity) -> frozenset[str] | None:
        return None
