"""Permission rules as data: who may do what to which entity, rows and fields.

Rules come from the packs' ``permissions/*.yaml`` files (see ``metadata/permission.schema.json``
and docs/permissions.md) and from an administrator's overrides kept in the database
(:mod:`yiti.permissions.overrides`). Both become one :class:`RuleSet`; an override
replaces the declared rule with the same key (role and entity; and field for field rules).

Every rule remembers where it came from (``modules/x/permissions/y.yaml:12`` or
``override #3``), so :func:`yiti.permissions.explain.explain` can name the rule that decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from yiti.definitions.model import SYSTEM_COLUMNS, Entity, Model
from yiti.definitions.source import in_pack
from yiti.errors import did_you_mean
from yiti.permissions.policy import ACTIONS, USER_NAME

ADMINISTRATOR = "Administrator"
FIELD_ACCESS = ("hidden", "read_only")
#: Field types whose values are text, which a user's name (``user: name``) can equal.
NAME_TYPES = ("string", "text", "email", "phone", "url", "select")
#: System columns holding a user's name, or a record's (an entity named after its user).
NAME_COLUMNS = ("created_by", "modified_by", "name")


@dataclass(frozen=True)
class Grant:
    """A row of the access table: ``role`` may do ``actions`` on ``entity`` (or ``*``)."""

    role: str
    entity: str
    actions: frozenset[str]
    source: str

    def describe(self) -> str:
        acts = " ".join(a for a in ACTIONS if a in self.actions) or "nothing"
        return f"role {self.role!r} may {acts} on {self.entity} ({self.source})"


@dataclass(frozen=True)
class RowRule:
    """Which records of ``entity`` a role sees: its own (``own``), or those whose ``path``
    (a field, or a walk along link fields) equals the user's attribute ``attribute`` (for
    the reserved attribute ``name``, the user's own name)."""

    role: str
    entity: str
    source: str
    own: bool = False
    path: str | None = None
    attribute: str | None = None

    def describe(self) -> str:
        """The rule with its source, for administrators (explain, the permissions pages)."""
        return f"{self.meaning()} ({self.source})"

    def meaning(self) -> str:
        """The rule in words, without where it is declared: what a refused user is told."""
        if self.own:
            what = "records the user created"
        elif self.attribute == USER_NAME:
            what = f"records whose {self.path} is the user's own user name"
        else:
            what = f"records whose {self.path} is the user's {self.attribute}"
        return f"role {self.role!r} sees only {what}"

    def to_dict(self) -> dict[str, Any]:
        return {"own": True} if self.own else {"field": self.path, "user": self.attribute}


@dataclass(frozen=True)
class FieldRule:
    """A field hidden from, or read-only for, a role."""

    role: str
    entity: str
    field: str
    access: str  # "hidden" | "read_only"
    source: str


@dataclass
class RuleSet:
    """Every rule of a site, by role and entity."""

    roles: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    grants: dict[tuple[str, str], Grant] = field(default_factory=dict)
    rows: dict[tuple[str, str], tuple[RowRule, ...]] = field(default_factory=dict)
    fields: dict[tuple[str, str], dict[str, FieldRule]] = field(default_factory=dict)

    def grant(self, role: str, entity: str) -> Grant | None:
        """The access row for ``role`` on ``entity``: its own, else the role's ``*`` row."""
        return self.grants.get((role, entity)) or self.grants.get((role, "*"))

    def role_names(self) -> list[str]:
        names = {ADMINISTRATOR, *self.roles}
        names.update(role for role, _ in self.grants)
        return sorted(names)


def parse_actions(value: str | Iterable[str]) -> frozenset[str]:
    """``"read write"``, ``["read", "write"]`` or ``"*"`` → a set of actions."""
    items = value.split() if isinstance(value, str) else list(value)
    if "*" in items:
        return frozenset(ACTIONS)
    return frozenset(items)


def row_rule(role: str, entity: str, spec: Mapping[str, Any], source: str) -> RowRule:
    if spec.get("own"):
        return RowRule(role, entity, source, own=True)
    return RowRule(role, entity, source, path=str(spec["field"]), attribute=str(spec["user"]))


def path_problem(entities: Mapping[str, Entity], entity: Entity, path: str,
                 attribute: str | None = None) -> tuple[str, str | None] | None:
    """Why ``path`` can't be a row rule's field on ``entity`` — (message, did-you-mean
    hint) — or None when it can. A path is a field, or link fields and a field of the
    entity they lead to; compared with the user's name (``attribute`` ``name``), it must
    end at a text field. ``entities`` by name: the finished model's, or a build's."""
    current = entity
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        f = current.fields.get(part)
        if f is None and part not in SYSTEM_COLUMNS:
            return (f"unknown field {part!r} of {current.name!r}",
                    did_you_mean(part, current.fields))
        if f is None or f.type != "link" or f.target not in entities:
            return f"{'.'.join(parts[:i + 1])!r} is not a link, so it has no fields", None
        current = entities[f.target]
    last = parts[-1]
    f = current.fields.get(last)
    if f is None and last not in SYSTEM_COLUMNS:
        return f"unknown field {last!r} of {current.name!r}", did_you_mean(last, current.fields)
    if attribute != USER_NAME or (f is None and last in NAME_COLUMNS) or (
            f is not None and f.type in NAME_TYPES):
        return None
    if f is not None and f.type == "link" and f.target in entities:
        return (f"{path!r} is a link to {f.target!r}, never equal to a user name; name a "
                f"text field of {f.target!r} after it", _name_field_hint(entities[f.target],
                                                                           path))
    what = f"a field of type {f.type}" if f is not None else "a system column"
    return (f"{path!r} is {what}, never equal to a user name; compare a text field "
            f"({', '.join(NAME_TYPES)})", None)


def _name_field_hint(target: Entity, path: str) -> str | None:
    """The text field of ``target`` most likely to hold a user's name, as a path: its
    one unique text field, else the one closest to ``user``."""
    text = [f for f in target.fields.values() if f.type in NAME_TYPES]
    unique = [f for f in text if f.unique]
    if len(unique) == 1:
        return f"did you mean {path + '.' + unique[0].name!r}?"
    return did_you_mean(f"{path}.user", [f"{path}.{f.name}" for f in text])


def declared_rules(model: Model) -> RuleSet:
    """The rules the packs declare in ``permissions/`` (later packs add to earlier ones)."""
    rules = RuleSet()
    for definition in model.extra.get("permissions", {}).values():
        body = definition.body
        lines: Mapping[str, int] = body.get("_lines", {})
        # never the server's file system: the text reaches API clients in a refusal
        path = (in_pack(definition.location.path, definition.module)
                if definition.location else definition.module)

        def where(key: str, i: int, path: str = path, lines: Mapping[str, int] = lines) -> str:
            line = lines.get(f"{key}.{i}")
            return f"{path}:{line}" if line else path

        for name, spec in (body.get("roles") or {}).items():
            rules.roles.setdefault(name, dict(spec or {}))
        for i, (role, entity, actions) in enumerate(body.get("access") or ()):
            key = (role, entity)
            acts = parse_actions(actions)
            previous = rules.grants.get(key)
            if previous is not None:  # two packs grant the same pair: they add up
                acts = acts | previous.actions
            rules.grants[key] = Grant(role, entity, acts, where("access", i))
        for i, spec in enumerate(body.get("rows") or ()):
            key = (spec["role"], spec["entity"])
            rule = row_rule(spec["role"], spec["entity"], spec, where("rows", i))
            rules.rows[key] = (*rules.rows.get(key, ()), rule)
        for i, spec in enumerate(body.get("fields") or ()):
            key = (spec["role"], spec["entity"])
            rules.fields.setdefault(key, {})[spec["field"]] = FieldRule(
                spec["role"], spec["entity"], spec["field"], spec["access"],
                where("fields", i))
    return rules
