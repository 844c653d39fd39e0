"""The workflow engine's tables: history, approval tasks and delegations.

- ``yiti_workflow_history``: one row per action taken on a record (who, when, from, to,
  the action, the comment, its inputs, on whose behalf, and a snapshot of the record as it was
  approved);
- ``yiti_workflow_task``: one row per approver slot each time a record enters an
  approval step (open, approved, rejected, closed, escalated), which is what "my
  approvals" lists and what resubmission compares against (``watched_hash``);
- ``yiti_workflow_delegation``: from user, to user, a date range.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from yiti.schema.tables import RECORD_REFS, system_table
from yiti.schema.types import KeyType, UTCDateTime

HISTORY, TASK, DELEGATION = "yiti_workflow_history", "yiti_workflow_task", \
    "yiti_workflow_delegation"
NAMES = (HISTORY, TASK, DELEGATION)


@system_table
def workflow_tables(md: MetaData) -> None:
    if HISTORY in md.tables:
        return
    Table(
        HISTORY, md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("entity", String(63), nullable=False),
        Column("record_id", KeyType, nullable=False),
        Column("workflow", String(63), nullable=False),
        Column("action", String(63), nullable=False),
        Column("from_state", String(63)),
        Column("to_state", String(63)),
        Column("user", String(140), nullable=False),
        Column("on_behalf_of", String(140)),
        Column("at", UTCDateTime(), nullable=False),
        Column("comment", Text),
        Column("version", Integer),
        Column("inputs", JSON),  # the action's inputs as given (a link: the record's id)
        Column("snapshot", JSON),
        Index("ix_yiti_workflow_history_entity_record_id", "entity", "record_id"),
        info={RECORD_REFS: True},
    )
    Table(
        TASK, md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("entity", String(63), nullable=False),
        Column("record_id", KeyType, nullable=False),
        Column("workflow", String(63), nullable=False),
        Column("state", String(63), nullable=False),
        Column("slot", Integer, nullable=False),
        Column("slot_label", String(255)),
        Column("assignee", String(140)),
        Column("role", String(140)),
        Column("status", String(16), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("due_at", UTCDateTime()),
        Column("acted_by", String(140)),
        Column("acted_at", UTCDateTime()),
        Column("carried", Boolean, nullable=False, default=False),
        Column("watched_hash", String(64)),
        Index("ix_yiti_workflow_task_entity_record_id", "entity", "record_id"),
        Index("ix_yiti_workflow_task_status_assignee", "status", "assignee"),
        Index("ix_yiti_workflow_task_status_role", "status", "role"),
        Index("ix_yiti_workflow_task_status_due_at", "status", "due_at"),
        info={RECORD_REFS: True},
    )
    Table(
        DELEGATION, md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("from_user", String(140), nullable=False),
        Column("to_user", String(140), nullable=False),
        Column("starts", Date, nullable=False),
        Column("ends", Date, nullable=False),
        Column("reason", Text),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("created_by", String(140)),
        Index("ix_yiti_workflow_delegation_to_user", "to_user"),
    )


def ensure_tables(site) -> None:  # noqa: ANN001 - a Site; imported lazily elsewhere
    """Add the tables to a site built before this module was imported, and create any
    that are missing (``yiti migrate`` creates them when the module is imported first)."""
    if HISTORY not in site.metadata.tables:
        workflow_tables(site.metadata)
    for name in NAMES:
        site.metadata.tables[name].create(site.engine, checkfirst=True)
