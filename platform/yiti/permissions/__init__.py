"""Role, row and field permissions, enforced by the record service.

Importing this package registers the engine's auth tables (:mod:`.tables`) and the
``permissions`` kind of definition file (:mod:`.kind`). A site's default policy is
:func:`policy_for` (a :class:`~yiti.permissions.role_policy.RolePolicy`).
"""

from typing import TYPE_CHECKING

from yiti.permissions import kind, tables  # noqa: F401  (they register themselves)
from yiti.permissions.policy import ACTIONS, SYSTEM, Actor, AllowAll, Policy

if TYPE_CHECKING:
    from yiti.permissions.role_policy import RolePolicy
    from yiti.site import Site


def policy_for(site: "Site") -> "RolePolicy":
    """The policy a site uses unless it is given one: the packs' permissions, overridden
    by an administrator's changes."""
    from yiti.permissions.role_policy import RolePolicy

    return RolePolicy(site)


__all__ = ["ACTIONS", "SYSTEM", "Actor", "AllowAll", "Policy", "policy_for"]
