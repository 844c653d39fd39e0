"""Role, row and field permissions, enforced by the record service."""

from yiti.permissions.policy import ACTIONS, SYSTEM, Actor, AllowAll, Policy

__all__ = ["ACTIONS", "SYSTEM", "Actor", "AllowAll", "Policy"]
