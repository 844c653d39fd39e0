"""What a screen offers the signed-in user: only the buttons and bulk actions their
permissions allow.

The screens do not decide permissions: each offer asks the site's policy exactly what the
record service will ask when the button is used (the same action, on the same record), so
a button is shown if and only if pressing it can pass the permission check. Row rules (a
role that may change only its own records) are checked per record, as the service does.
The record's state matters too: a submitted document offers no *Edit*, nor does a record
whose workflow state locks every field a form could change (:func:`changeable`), and where
the record's workflow submits (cancels) it, the plain *Submit* (*Cancel document*) is left
to the workflow's actions (:meth:`yiti.workflow.spec.Workflow.lifecycle`).

The form pages ask the same questions before they open (:func:`require`,
:func:`require_offer`, :func:`changeable`), so a page opened by its address answers 403
(404 for a record the actor may not read) exactly when its button would not be offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yiti.definitions.model import Entity
from yiti.errors import Forbidden, NotFound
from yiti.records.service import Records
from yiti.web.ui.formdata import editable

#: Buttons of a record's page; the permission each asks for.
RECORD_ACTIONS = {"edit": "write", "delete": "delete", "submit": "submit",
                  "cancel": "cancel", "amend": "create"}
#: Offers of an entity's list; the permissions each asks for (all of them).
LIST_ACTIONS = {"new": ("create",), "import": ("create", "import"), "export": ("export",),
                "delete": ("delete",), "submit": ("submit",)}


def require(recs: Records, entity: Entity, action: str,
            record: Mapping[str, Any] | None = None) -> None:
    """Refuse unless the actor of ``recs`` may take ``action`` on ``entity`` (on
    ``record``, row rules included, when it is given): the record service's own check,
    raising what it raises (:class:`Forbidden`, or :class:`NotFound` for a record the
    actor may not read)."""
    recs.policy.check(recs.actor, entity, action, record)


def may(recs: Records, entity: Entity, action: str,
        record: Mapping[str, Any] | None = None) -> bool:
    """Whether :func:`require` lets the actor of ``recs`` take ``action``."""
    try:
        require(recs, entity, action, record)
    except (Forbidden, NotFound):
        return False
    return True


def require_offer(recs: Records, entity: Entity, offer: str) -> None:
    """Refuse (:class:`Forbidden`) unless the entity's list offers ``offer`` (``new``,
    ``import``...) to the actor of ``recs``: every permission it asks for."""
    for action in LIST_ACTIONS[offer]:
        require(recs, entity, action)


def changeable(entity: Entity, record: Mapping[str, Any],
               locked: frozenset[str] = frozenset()) -> bool:
    """Whether the record's state lets an ordinary update change something: not a
    submitted or cancelled document, and some field a form writes (not read-only, not a
    formula) that is not among ``locked``, the fields its workflow state locks
    (:func:`yiti.workflow.guard.locked_fields`)."""
    if entity.submittable and record.get("docstatus") not in (None, "draft"):
        return False
    return any(editable(f) for name, f in entity.fields.items() if name not in locked)


def record_actions(recs: Records, entity: Entity, record: Mapping[str, Any],
                   by_workflow: frozenset[str] = frozenset(),
                   locked: frozenset[str] = frozenset()) -> frozenset[str]:
    """The buttons the record's page offers (``edit``, ``delete``, ``submit``, ``cancel``,
    ``amend``): those its state allows, among them those the actor may take on it.
    ``by_workflow`` names what the record's workflow does itself (``submit``/``cancel``);
    ``locked`` the fields its workflow state locks (none left to change: no ``edit``)."""
    status = record.get("docstatus") if entity.submittable else None
    candidates = []
    if changeable(entity, record, locked):
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
