"""What a screen offers the signed-in user: only the buttons and bulk actions their
permissions allow.

The screens do not decide permissions: each offer asks the site's policy exactly what the
record service will ask when the button is used (the same action, on the same record), so
a button is shown if and only if pressing it can pass the permission check. Row rules (a
role that may change only its own records) are checked per record, as the service does.
The record's state matters too: a submitted document offers no *Edit*, and where the
record's workflow submits (cancels) it, the plain *Submit* (*Cancel document*) is left to
the workflow's actions (:meth:`yiti.workflow.spec.Workflow.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yiti.definitions.model import Entity
from yiti.errors import Forbidden, NotFound
from yiti.records.service import Records

#: Buttons of a record's page; the permission each asks for.
RECORD_ACTIONS = {"edit": "write", "delete": "delete", "submit": "submit",
                  "cancel": "cancel", "amend": "create"}
#: Offers of an entity's list; the permissions each asks for (all of them).
LIST_ACTIONS = {"new": ("create",), "import": ("create", "import"), "export": ("export",),
                "delete": ("delete",), "submit": ("submit",)}


def may(recs: Records, entity: Entity, action: str,
        record: Mapping[str, Any] | None = None) -> bool:
    """Whether the actor of ``recs`` may take ``action`` on ``entity`` (on ``record``,
    row rules included, when it is given): the record service's own check."""
    try:
        recs.policy.check(recs.actor, entity, action, record)
    except (Forbidden, NotFound):
        return False
    return True


def record_actions(recs: Records, entity: Entity, record: Mapping[str, Any],
                   by_workflow: frozenset[str] = frozenset()) -> frozenset[str]:
    """The buttons the record's page offers (``edit``, ``delete``, ``submit``, ``cancel``,
    ``amend``): those its state allows, among them those the actor may take on it.
    ``by_workflow`` names what the record's workflow does itself (``submit``/``cancel``)."""
    status = record.get("docstatus") if entity.submittable else None
    candidates = []
    if status in (None, "draft"):
        candidates.append("edit")
    if status != "submitted":
        candidates.append("delete")
    if status == "draft" and "submit" not in by_workflow:
        candidates.append("submit")
    if status == "submitted" and "cancel" not in by_workflow:
        candidates.append("cancel")
    if status == "cancelled":
        candidates.append("amend")
    return frozenset(a for a in candidates if may(recs, entity, RECORD_ACTIONS[a], record))


def list_actions(recs: Records, entity: Entity,
                 by_workflow: frozenset[str] = frozenset()) -> frozenset[str]:
    """What the entity's list offers (``new``, ``import``, ``export``, and the bulk
    actions ``delete`` and ``submit``): those the actor may take on some record. A bulk
    action still checks each ticked record, row rules included, and reports the refused."""
    candidates = ["new", "import", "export", "delete"]
    if entity.submittable and "submit" not in by_workflow:
        candidates.append("submit")
    return frozenset(a for a in candidates
                     if all(may(recs, entity, p) for p in LIST_ACTIONS[a]))
