"""The job layer's tables, registered with the schema as engine-owned tables.

``yiti_job`` is the outbox and the record of every job; ``yiti_schedule`` keeps what
analysts changed about a declared schedule and ``yiti_schedule_run`` claims each due time
once; ``yiti_webhook`` holds each webhook's secret and ``yiti_webhook_delivery`` every
attempt; ``yiti_notification`` the in-app notifications and
``yiti_notification_template`` analysts' edits of notification templates.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from yiti.schema.tables import system_table
from yiti.schema.types import KeyType, UTCDateTime

#: The tables made here.
TABLES = ("yiti_job", "yiti_schedule", "yiti_schedule_run", "yiti_webhook",
          "yiti_webhook_delivery", "yiti_notification", "yiti_notification_template")

#: Every state a job can be in.
STATES = ("queued", "running", "failed", "done", "cancelled")


@system_table
def job_tables(md: MetaData) -> None:
    Table(
        "yiti_job", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("name", String(140), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("key", String(255)),  # idempotency key: one job per key
        Column("state", String(16), nullable=False),
        Column("priority", Integer, nullable=False, server_default="0"),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("max_attempts", Integer, nullable=False),
        Column("run_after", UTCDateTime(), nullable=False),
        Column("dispatched_at", UTCDateTime()),
        Column("lease_until", UTCDateTime()),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("created_by", String(140)),
        Column("started_at", UTCDateTime()),
        Column("finished_at", UTCDateTime()),
        Column("error", Text),
        Column("progress_done", Integer, nullable=False, server_default="0"),
        Column("progress_total", Integer),
        Column("message", String(255)),
        Column("result", JSON),
        Index("uq_yiti_job_key", "key", unique=True),
        Index("ix_yiti_job_state_run_after", "state", "run_after"),
    )
    Table(
        "yiti_schedule", md,
        Column("name", String(140), primary_key=True),
        Column("enabled", Boolean),  # None: as declared
        Column("since", UTCDateTime(), nullable=False),  # due times before this never fire
        Column("last_due", UTCDateTime()),
        Column("last_job_id", KeyType),
    )
    Table(
        "yiti_schedule_run", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("schedule", String(140), nullable=False),
        Column("due_at", UTCDateTime(), nullable=False),
        Column("job_id", KeyType),
        Column("created_at", UTCDateTime(), nullable=False),
        UniqueConstraint("schedule", "due_at", name="uq_yiti_schedule_run_schedule_due_at"),
    )
    Table(
        "yiti_webhook", md,
        Column("name", String(140), primary_key=True),
        Column("secret", String(255), nullable=False),
        Column("enabled", Boolean),  # None: as declared
    )
    Table(
        "yiti_webhook_delivery", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("webhook", String(140), nullable=False, index=True),
        Column("event_id", String(64), nullable=False, index=True),
        Column("event", String(32), nullable=False),
        Column("entity", String(63), nullable=False),
        Column("record_id", KeyType),
        Column("job_id", KeyType),
        Column("attempt", Integer, nullable=False),
        Column("at", UTCDateTime(), nullable=False),
        Column("status_code", Integer),
        Column("duration_ms", Integer),
        Column("error", Text),
    )
    Table(
        "yiti_notification", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("user", String(140), nullable=False),
        Column("template", String(140)),
        Column("language", String(16)),
        Column("subject", String(255), nullable=False),
        Column("body", Text, nullable=False),
        Column("link", String(500)),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("read_at", UTCDateTime()),
        Column("email", String(255)),
        Column("email_job_id", KeyType),
        Index("ix_yiti_notification_user_read_at", "user", "read_at"),
    )
    Table(
        "yiti_notification_template", md,
        Column("name", String(140), primary_key=True),
        Column("language", String(16), primary_key=True),
        Column("subject", String(255), nullable=False),
        Column("body", Text, nullable=False),
        Column("modified_at", UTCDateTime(), nullable=False),
        Column("modified_by", String(140)),
    )
