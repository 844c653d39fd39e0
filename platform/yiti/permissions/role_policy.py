"""The site's policy: roles, row rules and field rules, declared and overridden.

Decisions, in order:

1. the system actor may do everything;
2. an API token's scopes limit what its user may do (``read:*``, ``write:loan``...);
3. the role ``Administrator`` may do everything else;
4. otherwise an action is allowed when one of the actor's roles is granted it on the
   entity (child lines follow their parent entity) and, when that role has row rules for
   the entity, the record matches one of them. Roles add up: a field is hidden only when
   every role that may read the entity hides it.

Denials hide what they must: a record the actor may not read is "not found" (404), never
"forbidden", so its existence leaks nowhere; a list or a create is "forbidden" (403).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, select
from sqlalchemy.exc import DBAPIError

from yiti.db import side_engine
from yiti.definitions.model import SYSTEM_COLUMNS, Entity, label_text
from yiti.errors import Forbidden, NotFound
from yiti.messages import Message
from yiti.permissions import overrides, rows
from yiti.permissions.policy import Actor
from yiti.permissions.rules import ADMINISTRATOR, Grant, RowRule, RuleSet, declared_rules
from yiti.records.transaction import reading

if TYPE_CHECKING:
    from yiti.site import Site

#: How long overrides are trusted before they are read again (other processes may change
#: them; this process's own changes call :meth:`RolePolicy.invalidate`).
OVERRIDES_TTL = 2.0
READ_ACTIONS = ("read", "export")
#: The actions of policy.ACTIONS as a refusal says them, in each language.
ACTION_WORDS = {
    "read": {"en": "read", "zh-CN": "查看"}, "create": {"en": "create", "zh-CN": "新建"},
    "write": {"en": "write", "zh-CN": "修改"}, "delete": {"en": "delete", "zh-CN": "删除"},
    "submit": {"en": "submit", "zh-CN": "提交"}, "cancel": {"en": "cancel", "zh-CN": "取消"},
    "export": {"en": "export", "zh-CN": "导出"}, "import": {"en": "import", "zh-CN": "导入"},
}


def scope_for(action: str, entity: str) -> tuple[str, ...]:
    """The token scopes any one of which allows ``action`` on ``entity``."""
    kind = "read" if action in READ_ACTIONS else "write"
    return ("*", f"{kind}:*", f"{kind}:{entity}")


class RolePolicy:
    """The :class:`~yiti.permissions.policy.Policy` every site uses unless given another."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.model = site.model
        self.declared = declared_rules(site.model)
        self._rules: RuleSet | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    # -- the rules ----------------------------------------------------------------

    def rules(self) -> RuleSet:
        """The declared rules with the administrator's overrides laid over them."""
        kept = self._rules
        if kept is not None and time.monotonic() - self._loaded_at <= OVERRIDES_TTL:
            return kept
        # One thread reads them again (on a connection of its own); the others go on with
        # the rules of a moment ago rather than each opening a connection to read the same.
        if not self._lock.acquire(blocking=kept is None):
            return kept  # type: ignore[return-value]
        try:
            if self._rules is not None and \
                    time.monotonic() - self._loaded_at <= OVERRIDES_TTL:
                return self._rules
            try:
                found = overrides.load(side_engine(self.site.engine),
                                       self.site.tables["yiti_permission"])
            except DBAPIError:  # not migrated yet: the declared rules only
                found = []
            self._rules = overrides.apply(self.declared, found)
            self._loaded_at = time.monotonic()
            return self._rules
        finally:
            self._lock.release()

    def invalidate(self) -> None:
        """Read the overrides again at the next decision (after an administrator's edit)."""
        self._rules = None

    # -- the Policy interface -------------------------------------------------------

    def check(self, actor: Actor, entity: Entity, action: str,
              record: Mapping[str, Any] | None = None) -> None:
        if actor.system:
            return
        existing = record is not None and record.get("id") is not None and action != "create"
        if not self._scoped(actor, entity, action):
            self._deny(actor, entity, action, existing, f"this token has no "
                       f"{'read' if action in READ_ACTIONS else 'write'} scope for "
                       f"{entity.name}")
        if self.is_admin(actor):
            return
        grants = self.grants(actor, entity, action)
        if not grants:
            self._deny(actor, entity, action, existing,
                       Message("you may not %(action)s %(entity)s records",
                               action=ACTION_WORDS.get(action, action), entity=entity.label))
        if record is None:
            return
        rules = self._row_rules(entity, grants)
        if rules is None:
            return
        if action == "create" or not existing:
            with reading(self.site.engine) as conn:
                ok = any(rows.values_match(r, actor, self.model, self.site.tables,
                                           self._base(entity), record, conn) for r in rules)
            if not ok:
                raise Forbidden(_new_values_refusal(action, entity, rules, record),
                                entity=entity.name)
            return
        if action == "read":
            return  # the record was loaded through row_filter: the same condition
        if not self.matches(actor, entity, rules, record["id"]):
            self._deny(actor, entity, action, True,
                       f"you may not {action} this {label_text(entity.label)}: "
                       + "; ".join(r.meaning() for r in rules))

    def row_filter(self, actor: Actor, entity: Entity, table: Table
                   ) -> ColumnElement[bool] | None:
        if actor.system or self.is_admin(actor):
            return None
        grants = self.grants(actor, entity, "read")
        rules = self._row_rules(entity, grants)
        if rules is None:
            return None if grants else rows.any_of([])
        target = self._base(entity)
        if target is not entity:  # child lines: through their parent's rules
            parent = self.site.tables[target.table_name]
            inner = self._conditions(actor, target, rules, parent)
            return table.c.parent_id.in_(select(parent.c.id).where(inner))
        return self._conditions(actor, entity, rules, table)

    def row_fields(self, actor: Actor, entity: Entity, action: str) -> frozenset[str] | None:
        if actor.system or self.is_admin(actor):
            return None
        rules = self._row_rules(entity, self.grants(actor, entity, action))
        if rules is None:
            return None
        # a path's first field holds the value (a link's id); "own" reads no value at all
        return frozenset((r.path or "").split(".")[0] for r in rules if not r.own)

    def readable(self, actor: Actor, entity: Entity) -> frozenset[str] | None:
        if actor.system or self.is_admin(actor):
            return None
        return self._fields(actor, entity, ("read",), ("hidden",))

    def writable(self, actor: Actor, entity: Entity) -> frozenset[str] | None:
        if actor.system or self.is_admin(actor):
            return None
        return self._fields(actor, entity, ("create", "write"), ("hidden", "read_only"))

    # -- helpers used by explain and the admin API --------------------------------

    def is_admin(self, actor: Actor) -> bool:
        return ADMINISTRATOR in actor.roles

    def grants(self, actor: Actor, entity: Entity, action: str) -> list[Grant]:
        """The access rows of the actor's roles that allow ``action`` on ``entity``."""
        ruleset = self.rules()
        name = self._base(entity).name
        found = []
        for role in sorted(actor.roles):
            grant = ruleset.grant(role, name)
            if grant is not None and action in grant.actions:
                found.append(grant)
        return found

    def row_rules_of(self, role: str, entity: Entity) -> tuple[RowRule, ...]:
        return self.rules().rows.get((role, self._base(entity).name), ())

    def matches(self, actor: Actor, entity: Entity, rules: list[RowRule], ident: Any) -> bool:
        """Whether record ``ident`` matches one of ``rules``, asked of the database."""
        table = self.site.tables[entity.table_name]
        cond = self._conditions(actor, entity, rules, table)
        with reading(self.site.engine) as conn:
            return conn.execute(select(table.c.id).where(table.c.id == ident, cond)
                                ).first() is not None

    def _scoped(self, actor: Actor, entity: Entity, action: str) -> bool:
        scopes = getattr(actor, "scopes", None)
        if scopes is None:
            return True
        return any(s in scopes for s in scope_for(action, self._base(entity).name))

    def _row_rules(self, entity: Entity, grants: list[Grant]) -> list[RowRule] | None:
        """The row rules that apply (any one suffices), or None when a granting role has
        none (it sees every record)."""
        found: list[RowRule] = []
        for grant in grants:
            rules = self.row_rules_of(grant.role, entity)
            if not rules:
                return None
            found.extend(rules)
        return found

    def _conditions(self, actor: Actor, entity: Entity, rules: list[RowRule],
                    table: Any) -> ColumnElement[bool]:
        return rows.any_of([rows.condition(r, actor, self.model, self.site.tables, entity,
                                           table) for r in rules])

    def _fields(self, actor: Actor, entity: Entity, actions: tuple[str, ...],
                denied: tuple[str, ...]) -> frozenset[str]:
        roles = {g.role for a in actions for g in self.grants(actor, entity, a)}
        if not roles:
            return frozenset()
        ruleset = self.rules()
        out: set[str] = set(SYSTEM_COLUMNS)
        for role in roles:
            rules = ruleset.fields.get((role, entity.name), {})
            out.update(f for f in entity.fields
                       if f not in rules or rules[f].access not in denied)
        return frozenset(out)

    def _base(self, entity: Entity) -> Entity:
        """The entity whose grants apply: a child's parent, else itself."""
        if entity.child and entity.parent:
            return self.model.entities[entity.parent]
        return entity

    def _deny(self, actor: Actor, entity: Entity, action: str, existing: bool,
              message: str) -> None:
        if existing and (action == "read" or not self.grants(actor, entity, "read")):
            raise NotFound(Message("%(entity)s not found", entity=entity.label),
                           entity=entity.name)
        raise Forbidden(message, entity=entity.name, action=action)


def _new_values_refusal(action: str, entity: Entity, rules: list[RowRule],
                        record: Mapping[str, Any]) -> str:
    """Why the values of a record being created or changed are outside the actor's rows,
    in the user's terms: the rules' meaning (their files are for the admin's explain)
    and what the new values would make of each rule's field ("store would be empty"), so
    a change that blanks the field is not mistaken for a record of someone else's."""
    label = label_text(entity.label)
    head = (f"you may not create this {label}" if action == "create"
            else f"you may not {action} this {label} with these values")
    why = []
    for rule in rules:
        if rule.own or not rule.path:
            continue
        name = rule.path.split(".")[0]
        value = record.get(name)
        if value is None or value == "":
            why.append(f"{name} would be empty")
        else:
            why.append(f"its {rule.path} would not be the user's {rule.attribute}")
    return (f"{head}: " + "; ".join(r.meaning() for r in rules)
            + (f" ({', '.join(dict.fromkeys(why))})" if why else ""))


def policy_for(site: Site) -> RolePolicy:
    """The policy a site uses by default: its packs' permissions and the overrides."""
    return RolePolicy(site)
