"""Engine-owned tables for users, roles, tokens, sessions and permission overrides.

Registered with :func:`yiti.schema.tables.system_table`, so ``yiti migrate`` creates them
like every other table.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from yiti.schema.tables import system_table
from yiti.schema.types import KeyType, UTCDateTime


@system_table
def _auth_tables(md: MetaData) -> None:
    Table(
        "yiti_user", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("name", String(140), nullable=False, unique=True),
        Column("full_name", String(255)),
        Column("email", String(255)),
        Column("password_hash", String(255)),
        Column("enabled", Boolean, nullable=False, default=True),
        Column("language", String(16)),
        #: Values row rules compare with: {"store": "SH-01", "supplier": "ACME"}.
        Column("attributes", JSON, nullable=False, default=dict),
        Column("password_changed_at", UTCDateTime()),
        Column("created_at", UTCDateTime(), nullable=False),
    )
    Table(
        "yiti_role", md,
        Column("name", String(63), primary_key=True),
        Column("label", JSON),
        Column("created_at", UTCDateTime(), nullable=False),
    )
    Table(
        "yiti_user_role", md,
        Column("user_id", KeyType, ForeignKey("yiti_user.id", ondelete="CASCADE"),
               primary_key=True),
        Column("role", String(63), primary_key=True),
    )
    Table(
        "yiti_api_token", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("user_id", KeyType, ForeignKey("yiti_user.id", ondelete="CASCADE"),
               nullable=False, index=True),
        Column("label", String(140)),
        #: SHA-256 of the secret part: tokens are long random strings, so a fast hash
        #: is enough (and keeps every API call fast); the secret itself is never stored.
        Column("secret_hash", String(64), nullable=False),
        Column("scopes", JSON, nullable=False),
        Column("expires_at", UTCDateTime()),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("last_used_at", UTCDateTime()),
        Column("revoked", Boolean, nullable=False, default=False),
    )
    Table(
        "yiti_session", md,
        Column("id", String(255), primary_key=True),
        Column("data", LargeBinary, nullable=False),
        Column("user_id", String(64), index=True),
        Column("expires_at", UTCDateTime(), nullable=False, index=True),
    )
    Table(
        "yiti_idempotency", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("user_name", String(140), nullable=False),
        Column("key", String(255), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer),
        Column("body", Text),
        Column("headers", JSON),
        Column("created_at", UTCDateTime(), nullable=False, index=True),
        Index("uq_yiti_idempotency_user_name_key", "user_name", "key", unique=True),
    )
    Table(
        "yiti_permission", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("kind", String(16), nullable=False),  # access | rows | field
        Column("role", String(63), nullable=False),
        Column("entity", String(63), nullable=False),
        Column("field", String(63), nullable=False, default=""),
        Column("body", JSON, nullable=False),
        Column("modified_at", UTCDateTime(), nullable=False),
        Column("modified_by", String(140)),
        Index("uq_yiti_permission_kind_role_entity_field", "kind", "role", "entity", "field",
              unique=True),
    )
    Table(
        "yiti_throttle", md,
        Column("key", String(255), primary_key=True),
        Column("count", Integer, nullable=False),
        Column("reset_at", UTCDateTime(), nullable=False, index=True),
    )
