"""Why may (or may not) a user do something to a record? The rule that decided.

:func:`explain` walks the same decisions as :class:`~yiti.permissions.role_policy.RolePolicy`
and, for a record, asks the database with the same row conditions, so the answer is what
the policy does, not a second opinion.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from yiti.definitions.model import Entity, label_text
from yiti.permissions.policy import ACTIONS, Actor
from yiti.permissions.role_policy import READ_ACTIONS, RolePolicy


@dataclass(frozen=True)
class Explanation:
    """The answer: ``allowed``, the ``rule`` that decided (in words) and its ``source``
    (``path:line`` of a permissions file, ``override #n``, or a built-in rule); ``steps``
    lists every rule considered; ``hidden``/``read_only`` the field rules in force."""

    allowed: bool
    rule: str
    source: str
    steps: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    #: For a write on one record in a workflow state that locks fields: the state and
    #: those fields (added by :func:`yiti.workflow.guard.with_workflow_lock`); else None.
    workflow_lock: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain(policy: RolePolicy, actor: Actor, entity: Entity, action: str,
            record_id: Any = None) -> Explanation:
    """Explain ``policy``'s decision on ``action`` by ``actor`` on ``entity`` (and on one
    record, when ``record_id`` is given)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    steps: list[str] = []
    what = f"{action} {label_text(entity.label)}" + (f" #{record_id}" if record_id else "")
    if actor.system:
        return Explanation(True, "the system actor may do everything", "built-in")
    scopes = getattr(actor, "scopes", None)
    if scopes is not None and not policy._scoped(actor, entity, action):
        kind = "read" if action in READ_ACTIONS else "write"
        return Explanation(False, f"the token's scopes ({', '.join(sorted(scopes))}) do not "
                           f"include {kind}:{entity.name} or {kind}:*", "token scopes")
    fields = _field_rules(policy, actor, entity)
    if policy.is_admin(actor):
        return Explanation(True, "role 'Administrator' may do everything", "built-in")
    grants = policy.grants(actor, entity, action)
    roles = ", ".join(sorted(actor.roles)) or "no roles"
    if not grants:
        return Explanation(False, f"none of {actor.name}'s roles ({roles}) may {action} "
                           f"{entity.name}", "access table (no matching row)", steps, **fields)
    for grant in grants:
        steps.append(grant.describe())
    if record_id is None:
        return Explanation(True, grants[0].describe(), grants[0].source, steps, **fields)
    for grant in grants:
        rules = policy.row_rules_of(grant.role, entity)
        if not rules:
            return Explanation(True, grant.describe() + ", on every record", grant.source,
                               steps, **fields)
        for rule in rules:
            if policy.matches(actor, entity, [rule], record_id):
                steps.append(f"matches: {rule.describe()}")
                return Explanation(True, f"{what}: {rule.describe()}", rule.source, steps,
                                   **fields)
            steps.append(f"does not match: {rule.describe()}")
    rule = policy.row_rules_of(grants[0].role, entity)[0]
    return Explanation(False, f"{what}: the record matches none of the row rules of "
                       f"{actor.name}'s roles", rule.source, steps, **fields)


def _field_rules(policy: RolePolicy, actor: Actor, entity: Entity) -> dict[str, list[str]]:
    if policy.is_admin(actor):
        return {"hidden": [], "read_only": []}
    readable = policy.readable(actor, entity) or frozenset()
    writable = policy.writable(actor, entity) or frozenset()
    hidden = sorted(f for f in entity.fields if f not in readable)
    read_only = sorted(f for f in entity.fields if f in readable and f not in writable)
    return {"hidden": hidden, "read_only": read_only}
