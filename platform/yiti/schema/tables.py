"""The model as SQLAlchemy Core tables, with stable constraint names.

Every entity is a real table: ``id`` primary key, the human ``name``, ``version`` for
optimistic locking, who and when created and modified; ``docstatus`` and ``amended_from``
for submittable entities; ``parent_id`` and ``idx`` for child lines. Fields are typed
columns; links are foreign keys; unique fields and keys are unique indexes (which SQLite
can add to an existing table, unlike constraints).

Fields are nullable in the database even when required: the record service enforces
"required" with a message that names the field, and adding a required field to a table
that already has rows must not fail.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from yiti.definitions.model import Entity, Model
from yiti.schema.types import KeyType, UTCDateTime, column_type, signature

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: ``Table.info`` key of engine tables that name records by ``entity`` and ``record_id``
#: (audit, workflow history...): a migration that rebuilds an entity's SQLite table
#: seeds its id sequence above every id they name, so a deleted record's id is never
#: handed to a new record, which would inherit its history.
RECORD_REFS = "record_refs"

#: Engine parts that own tables (users, jobs, workflow history...) register a builder here.
SYSTEM_TABLES: list[Callable[[MetaData], None]] = []


def system_table(builder: Callable[[MetaData], None]) -> Callable[[MetaData], None]:
    """Register a function that adds engine-owned tables to the metadata."""
    SYSTEM_TABLES.append(builder)
    return builder


@system_table
def _core_tables(md: MetaData) -> None:
    Table(
        "yiti_file", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("sha256", String(64), nullable=False, index=True),
        Column("filename", String(255), nullable=False),
        Column("content_type", String(127), nullable=False),
        Column("size", Integer, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("created_by", String(140)),
    )
    Table(
        "yiti_audit", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("entity", String(63), nullable=False),
        Column("record_id", KeyType, nullable=False),
        Column("action", String(32), nullable=False),
        Column("user", String(140)),
        Column("at", UTCDateTime(), nullable=False),
        Column("version", Integer),
        Column("changes", JSON, nullable=False),
        Index("ix_yiti_audit_entity_record_id", "entity", "record_id"),
        info={RECORD_REFS: True},
    )
    Table(
        "yiti_series", md,
        Column("key", String(140), primary_key=True),
        Column("current", KeyType, nullable=False),
    )
    Table(
        "yiti_migration", md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("applied_at", UTCDateTime(), nullable=False),
        Column("summary", Text, nullable=False),
        Column("steps", JSON, nullable=False),
    )
    Table(
        "yiti_schema_state", md,
        Column("table_name", String(63), primary_key=True),
        Column("column_name", String(63), primary_key=True),
        Column("signature", JSON, nullable=False),
    )


def short_name(name: str) -> str:
    """``name`` cut to PostgreSQL's 63 characters, stably (a hash of the whole keeps it unique)."""
    if len(name) <= 63:
        return name
    import hashlib

    return f"{name[:54]}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def build_metadata(model: Model) -> MetaData:
    """One MetaData with every entity table and every system table."""
    md = MetaData(naming_convention=NAMING_CONVENTION)
    for builder in SYSTEM_TABLES:
        builder(md)
    for entity in model.entities.values():
        entity_table(md, entity, model)
    _add_cycles_after_tables(md)
    return md


def _add_cycles_after_tables(md: MetaData) -> None:
    """Mark the foreign keys that close a cycle of links ``use_alter``.

    Two entities may link to each other (or round three...): no order of ``CREATE
    TABLE`` then has every table after the ones it refers to, and PostgreSQL refuses a
    reference to a table not there yet. A foreign key between two tables that reach each
    other is added with ``ALTER TABLE`` once both exist (SQLite, which cannot, declares
    it inline, which it allows before the target exists). A link to its own table needs
    nothing. What is left is acyclic, so SQLAlchemy and alembic sort tables without
    warning.
    """
    refers: dict[str, set[str]] = {
        t.name: {fk.referred_table.name for fk in t.foreign_key_constraints}
        for t in md.tables.values()
    }

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for target in refers.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    reach = {name: reachable(name) for name in refers}
    for t in md.tables.values():
        for fk in t.foreign_key_constraints:
            target = fk.referred_table.name
            if target != t.name and t.name in reach[target]:
                fk.use_alter = True


def entity_table(md: MetaData, entity: Entity, model: Model) -> Table:
    name = entity.table_name
    columns: list[Column] = [
        Column("id", KeyType, primary_key=True, autoincrement=True),
    ]
    if entity.child:
        parent = model.entities[entity.parent] if entity.parent else None
        target = parent.table_name if parent else None
        columns += [
            Column("parent_id", KeyType,
                   ForeignKey(f"{target}.id", ondelete="CASCADE") if target else None,
                   nullable=False, index=True),
            Column("idx", Integer, nullable=False),
        ]
    else:
        columns += [Column("name", String(140), nullable=True, unique=False)]
    columns += [
        Column("version", Integer, nullable=False, server_default="1"),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("created_by", String(140)),
        Column("modified_at", UTCDateTime(), nullable=False),
        Column("modified_by", String(140)),
    ]
    if entity.submittable:
        columns += [
            Column("docstatus", String(16), nullable=False, server_default="draft", index=True),
            Column("amended_from", KeyType, ForeignKey(f"{name}.id", ondelete="SET NULL")),
        ]
    for field in entity.stored_fields:
        args: list = []
        if field.type == "link" and field.target:
            target = model.entities[field.target].table_name
            ondelete = {"restrict": "RESTRICT", "set null": "SET NULL", "cascade": "CASCADE"}[
                field.on_delete
            ]
            args.append(ForeignKey(f"{target}.id", ondelete=ondelete))
        elif field.type == "attachment":
            args.append(ForeignKey("yiti_file.id", ondelete="RESTRICT"))
        # Foreign keys get an index: PostgreSQL doesn't add one, and joins and
        # "documents of this customer" need it.
        indexed = field.indexed or field.type in ("link", "attachment")
        columns.append(Column(field.name, column_type(field), *args, nullable=True,
                              index=indexed and not field.unique))
    # AUTOINCREMENT: SQLite otherwise reuses the highest id after a delete, and the new
    # record would inherit the deleted one's audit trail, workflow history and links.
    table = Table(name, md, *columns, sqlite_autoincrement=True)
    if not entity.child:
        Index(short_name(f"uq_{name}_name"), table.c.name, unique=True)
    for field in entity.stored_fields:
        if field.unique:
            Index(short_name(f"uq_{name}_{field.name}"), table.c[field.name], unique=True)
    for key in entity.unique_together:
        Index(short_name(f"uq_{name}_{'_'.join(key)}"), *(table.c[k] for k in key), unique=True)
    table.info["entity"] = entity.name
    table.info["signatures"] = {f.name: signature(f) for f in entity.stored_fields}
    return table
