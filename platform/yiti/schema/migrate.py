"""Bring the database in line with the definitions, losing no data.

One migration runs in one transaction (PostgreSQL and SQLite both have transactional DDL):

1. renames declared with ``renamed_from`` (tables and columns) keep their data;
2. a field whose type changed is converted row by row with the new type's parser
   (``yiti.values``); widening is automatic, anything else needs ``convert: parse`` in the
   definition or ``--allow-destructive``, and rows whose value doesn't fit are reported;
3. alembic's comparison (``compare_metadata``) finds what else differs: new tables,
   columns and indexes are added; dropped tables and columns are destructive and refused
   unless allowed;
4. on SQLite, an entity table created before ids were ``AUTOINCREMENT`` is rebuilt with
   it, keeping its rows, and its id sequence is seeded above every id it ever handed out
   (see :func:`_ids_never_reused`);
5. extended statistics and derived (generated) columns that engine parts derive from the
   definitions (PostgreSQL; see :mod:`yiti.schema.statistics`) are created, and those no
   longer wanted dropped (derived columns before step 1);
6. the applied steps are recorded in ``yiti_migration``, and each column's type
   signature in ``yiti_schema_state`` (what step 2 compares against next time).

A dry run does all of that and then rolls back (PostgreSQL) or works on a copy of the
database file (SQLite), so it reports failing rows and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    column,
    delete,
    func,
    insert,
    inspect,
    select,
    table,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.ddl import sort_tables_and_constraints

from yiti.db import WRITE, create_engine, is_sqlite
from yiti.definitions.model import Field, Model
from yiti.errors import MigrationRefused
from yiti.schema import statistics
from yiti.schema.tables import RECORD_REFS, build_metadata
from yiti.schema.types import column_type, field_from_signature, is_widening, signature
from yiti.values import ValueProblem, parse

UTC = dt.UTC
BATCH = 2000


@dataclass
class Step:
    """One change to the database, as printed in a plan."""

    kind: str
    table: str
    column: str | None = None
    detail: str = ""
    destructive: bool = False

    def __str__(self) -> str:
        target = f"{self.table}.{self.column}" if self.column else self.table
        mark = " [destructive]" if self.destructive else ""
        return f"{self.kind} {target}{': ' + self.detail if self.detail else ''}{mark}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "table": self.table, "column": self.column,
                "detail": self.detail, "destructive": self.destructive}


@dataclass
class RowFailure:
    """A row whose value could not be converted to the field's new type."""

    table: str
    column: str
    record_id: int
    value: Any
    message: str

    def __str__(self) -> str:
        return f"{self.table} id={self.record_id} {self.column}={self.value!r}: {self.message}"


@dataclass
class MigrationResult:
    steps: list[Step] = field(default_factory=list)
    failures: list[RowFailure] = field(default_factory=list)
    dry_run: bool = False

    @property
    def destructive(self) -> list[Step]:
        return [s for s in self.steps if s.destructive]

    def describe(self) -> str:
        if not self.steps:
            return "Nothing to do: the database matches the definitions."
        lines = [f"  {s}" for s in self.steps]
        lines += [f"  row failed: {f}" for f in self.failures]
        return "\n".join(lines)


class _Refused(Exception):
    def __init__(self, result: MigrationResult, reason: str) -> None:
        self.result, self.reason = result, reason


def migrate(
    engine: Engine, model: Model, *, allow_destructive: bool = False, dry_run: bool = False,
    timezone: str | None = None,
) -> MigrationResult:
    """Apply the plan that makes the database match ``model``; see the module docstring.

    ``timezone`` is the site's: statistics on datetimes bucketed in it need it (without
    it none are kept for them).

    Raises :class:`MigrationRefused` (nothing changed) when the plan holds destructive
    steps that were not allowed, or rows that cannot be converted.
    """
    if dry_run and is_sqlite(engine) and engine.url.database not in (None, "", ":memory:"):
        return _dry_run_on_copy(engine, model, allow_destructive, timezone)
    with engine.connect() as conn:
        sqlite = is_sqlite(conn)
        if sqlite:
            # Table rebuilds must not cascade deletes; checked again before commit.
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        conn = conn.execution_options(**{WRITE: True})
        try:
            with conn.begin() as tx:
                try:
                    result = _run(conn, model, allow_destructive, timezone)
                except _Refused as refused:
                    tx.rollback()
                    raise MigrationRefused(
                        f"{refused.reason}\n{refused.result.describe()}",
                        steps=[s.to_dict() for s in refused.result.steps],
                        failures=[str(f) for f in refused.result.failures],
                    ) from None
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        tx.rollback()
                        raise MigrationRefused(f"foreign keys would break: {broken[:5]}")
                if dry_run:
                    result.dry_run = True
                    tx.rollback()
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
    return result


def _dry_run_on_copy(engine: Engine, model: Model, allow_destructive: bool,
                     timezone: str | None) -> MigrationResult:
    source = Path(engine.url.database or "")
    with tempfile.TemporaryDirectory(prefix="yiti-dry-run-") as tmp:
        copy = Path(tmp) / "copy.db"
        if source.exists():
            with engine.connect() as conn:
                conn.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(FULL)")
            shutil.copyfile(source, copy)
        scratch = create_engine(f"sqlite:///{copy}", poolclass=None)
        try:
            result = migrate(scratch, model, allow_destructive=allow_destructive,
                             timezone=timezone)
        finally:
            scratch.dispose()
    result.dry_run = True
    return result


def _run(conn: Connection, model: Model, allow_destructive: bool,
         timezone: str | None = None) -> MigrationResult:
    md = build_metadata(model)
    result = MigrationResult()
    ops = Operations(MigrationContext.configure(conn))
    state = _read_state(conn)
    existing = set(inspect(conn).get_table_names())
    sequences = _sequences(conn) if is_sqlite(conn) else {}
    for kind, table_name, detail in statistics.drop_stale_columns(conn, model, md, timezone):
        result.steps.append(Step(kind, table_name, detail=detail))

    # 1. Renames.
    for entity in model.entities.values():
        old, new = entity.renamed_from, entity.table_name
        if old and old in existing and new not in existing:
            ops.rename_table(old, new)
            existing = (existing - {old}) | {new}
            state = {(new if t == old else t, c): s for (t, c), s in state.items()}
            result.steps.append(Step("rename table", old, detail=f"to {new}"))
    for entity in model.entities.values():
        if entity.table_name not in existing:
            continue
        columns = {c["name"] for c in inspect(conn).get_columns(entity.table_name)}
        for f in entity.stored_fields:
            if f.renamed_from and f.renamed_from in columns and f.name not in columns:
                _rename_column(conn, entity.table_name, f.renamed_from, f.name)
                key = (entity.table_name, f.renamed_from)
                if key in state:
                    state[(entity.table_name, f.name)] = state.pop(key)
                result.steps.append(Step("rename column", entity.table_name, f.renamed_from,
                                         detail=f"to {f.name}"))

    # 2. Type changes.
    for entity in model.entities.values():
        if entity.table_name not in existing:
            continue
        for f in entity.stored_fields:
            old_sig = state.get((entity.table_name, f.name))
            new_sig = signature(f)
            if old_sig is None or old_sig == new_sig:
                continue
            widening = is_widening(old_sig, new_sig)
            destructive = not widening and f.convert != "parse"
            step = Step("convert column", entity.table_name, f.name,
                        detail=f"{_sig_text(old_sig)} -> {_sig_text(new_sig)}",
                        destructive=destructive)
            result.steps.append(step)
            if destructive and not allow_destructive:
                continue
            failures = _convert(conn, ops, md.tables[entity.table_name], f, old_sig,
                                null_failures=allow_destructive)
            result.failures += failures

    # 3. New tables are created as defined; everything else comes from alembic's
    # comparison, which only needs to look at the tables that were there already (on a
    # new site that is none, and comparing is most of a first migration's time).
    new_tables = set(md.tables) - existing
    compared = ({t for t, _ in state} | set(md.tables)) & existing
    _create_tables(conn, md, new_tables, result)
    ctx = MigrationContext.configure(conn, opts={
        "compare_type": False,
        "include_name": lambda name, kind, parent: (
            (kind != "table" or name in compared)
            and not (kind == "index" and str(name).startswith(TRIGRAM_PREFIX))
            and not (kind == "column" and str(name).startswith(statistics.COLUMN_PREFIX))
        ),
    })
    diffs = compare_metadata(ctx, md) if compared else []
    for diff in diffs:
        _apply_diff(conn, ops, md, diff, result, new_tables)

    if is_sqlite(conn):
        _ids_never_reused(conn, ops, md, model, existing & set(md.tables), sequences, result)
    if conn.dialect.name == "postgresql":
        _search_indexes(conn, model, result)
        for kind, table_name, detail in statistics.keep(conn, model, md, timezone):
            result.steps.append(Step(kind, table_name, detail=detail))

    if result.destructive and not allow_destructive:
        raise _Refused(result, "Refused: the plan drops or narrows data; "
                               "run with --allow-destructive if that is intended.")
    if result.failures and not allow_destructive:
        raise _Refused(result, f"Refused: {len(result.failures)} row(s) cannot be converted.")

    _write_state(conn, md, model)
    if result.steps:
        conn.execute(insert(md.tables["yiti_migration"]).values(
            applied_at=dt.datetime.now(UTC),
            summary="; ".join(str(s) for s in result.steps)[:10000],
            steps=[s.to_dict() for s in result.steps],
        ))
    return result


def _create_tables(conn: Connection, md: MetaData, names: set[str],
                   result: MigrationResult) -> None:
    """Create the tables ``names``, each after the tables it links to; the foreign keys
    of a cycle of links (``use_alter``, see :mod:`yiti.schema.tables`) are added once all
    exist (PostgreSQL) or declared inline (SQLite).
    """
    tables = [md.tables[n] for n in sorted(names)]
    order = sort_tables_and_constraints(tables)
    md.create_all(conn, tables=tables, checkfirst=False)
    result.steps += [Step("create table", t.name) for t, _ in order if t is not None]
    if not is_sqlite(conn):
        result.steps += [Step("add foreign key", fk.parent.name, detail=str(fk.name))
                         for fk in sorted(order[-1][1], key=lambda fk: str(fk.name))]


#: Trigram indexes for search (PostgreSQL) are kept by :func:`_search_indexes`, not by
#: alembic's comparison, which doesn't know index operator classes.
TRIGRAM_PREFIX = "trgm_"


def _search_indexes(conn: Connection, model: Model, result: MigrationResult) -> None:
    """A trigram GIN index on each column a search looks in (``searched_columns``), so
    ``ILIKE '%...%'`` search is an index scan."""
    from sqlalchemy import text as sql

    from yiti.records.query import searched_columns
    from yiti.schema.tables import short_name

    wanted = {}
    for entity in model.entities.values():
        for _path, owner, f in searched_columns(model, entity):
            wanted[short_name(f"{TRIGRAM_PREFIX}{owner.table_name}_{f.name}")] = (
                owner.table_name, f.name)
    existing = set(conn.execute(sql(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
        "AND indexname LIKE 'trgm\\_%'")).scalars())
    missing = {k: v for k, v in wanted.items() if k not in existing}
    if not missing:
        return
    try:
        with conn.begin_nested():
            # In public, whatever the search path: an extension created in a schema dies
            # with it, taking every site's search indexes along.
            conn.execute(sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
    except Exception:  # noqa: BLE001 - no right to add extensions: search stays a scan
        result.steps.append(Step("skip search indexes", "*",
                                 detail="pg_trgm is not available to this database user"))
        return
    home = conn.execute(sql("SELECT extnamespace::regnamespace::text FROM pg_extension "
                            "WHERE extname = 'pg_trgm'")).scalar_one()
    q = conn.dialect.identifier_preparer.quote
    for index, (table_name, column_name) in sorted(missing.items()):
        conn.execute(sql(f"CREATE INDEX {q(index)} ON {q(table_name)} "
                         f"USING gin ({q(column_name)} {home}.gin_trgm_ops)"))
        result.steps.append(Step("add search index", table_name, column_name))


def _apply_diff(conn: Connection, ops: Operations, md: MetaData, diff: Any,
                result: MigrationResult, new_tables: set[str]) -> None:
    if isinstance(diff, list):  # modify_* groups
        for sub in diff:
            if sub[0] == "modify_nullable":
                _, _, tname, cname, kw, _old, new = sub
                with ops.batch_alter_table(tname, **_rebuilt_as(md, tname)) as batch:
                    batch.alter_column(cname, nullable=new, existing_type=kw.get("existing_type"))
                result.steps.append(Step("alter nullable", tname, cname,
                                         detail="null allowed" if new else "not null"))
        return
    kind = diff[0]
    if kind == "add_table":
        return
    if kind == "remove_table":
        t = diff[1]
        result.steps.append(Step("drop table", t.name, destructive=True))
        t.drop(conn)
    elif kind == "add_column":
        _, _, tname, col = diff
        _add_column(conn, ops, tname, col)
        result.steps.append(Step("add column", tname, col.name, detail=str(col.type)))
    elif kind == "remove_column":
        _, _, tname, col = diff
        result.steps.append(Step("drop column", tname, col.name, destructive=True))
        _drop_column(conn, ops, tname, col.name, md)
    elif kind == "add_index":
        idx = diff[1]
        if idx.table.name in new_tables:
            return
        try:
            with conn.begin_nested():
                idx.create(conn)
        except IntegrityError:
            cols = ", ".join(c.name for c in idx.columns)
            result.steps.append(Step("add unique index", idx.table.name, cols))
            raise _Refused(result, f"Refused: {idx.table.name} has rows with the same "
                                   f"{cols}; make them unique first.") from None
        result.steps.append(Step("add unique index" if idx.unique else "add index",
                                 idx.table.name, ", ".join(c.name for c in idx.columns)))
    elif kind == "remove_index":
        idx = diff[1]
        ops.drop_index(idx.name, table_name=idx.table.name)
        result.steps.append(Step("drop index", idx.table.name, detail=str(idx.name)))
    elif kind == "add_fk":
        fk = diff[1]
        tname = fk.parent.name
        if is_sqlite(conn):
            with ops.batch_alter_table(tname, recreate="always",
                                       **_rebuilt_as(md, tname)) as batch:
                batch.create_foreign_key(fk.name, fk.referred_table.name,
                                         [c.name for c in fk.columns],
                                         [e.column.name for e in fk.elements],
                                         ondelete=fk.ondelete)
        else:
            ops.create_foreign_key(fk.name, tname, fk.referred_table.name,
                                   [c.name for c in fk.columns],
                                   [e.column.name for e in fk.elements], ondelete=fk.ondelete)
        result.steps.append(Step("add foreign key", tname, detail=str(fk.name)))
    elif kind == "remove_fk":
        fk = diff[1]
        tname = fk.parent.name
        if is_sqlite(conn):
            with ops.batch_alter_table(tname, recreate="always",
                                       **_rebuilt_as(md, tname)) as batch:
                batch.drop_constraint(fk.name, type_="foreignkey")
        else:
            ops.drop_constraint(fk.name, tname, type_="foreignkey")
        result.steps.append(Step("drop foreign key", tname, detail=str(fk.name)))


def _add_column(conn: Connection, ops: Operations, tname: str, col: Column) -> None:
    # The copy has no foreign key (SQLAlchemy leaves out those bound to the table): the
    # comparison lists it as its own ``add_fk`` step, a named constraint on both
    # databases (SQLite only reflects the name of a table-level one, hence no inline
    # ``REFERENCES`` here).
    new = col._copy()
    new.index = None  # indexes come as their own steps from the comparison
    new.unique = None
    ops.add_column(tname, new)


def _drop_column(conn: Connection, ops: Operations, tname: str, cname: str,
                 md: MetaData) -> None:
    insp = inspect(conn)
    for idx in insp.get_indexes(tname):
        if cname in idx["column_names"] and idx["name"]:
            ops.drop_index(idx["name"], table_name=tname)
    has_fk = any(cname in fk["constrained_columns"] for fk in insp.get_foreign_keys(tname))
    if is_sqlite(conn) and has_fk:
        with ops.batch_alter_table(tname, recreate="always", **_rebuilt_as(md, tname)) as batch:
            batch.drop_column(cname)
    else:
        ops.drop_column(tname, cname)


def _rebuilt_as(md: MetaData, tname: str) -> dict[str, Any]:
    """Keyword arguments for a SQLite table rebuild (alembic's batch mode) that keep what
    the reflected table would lose: ``AUTOINCREMENT`` on entity tables."""
    defined = md.tables.get(tname)
    if defined is not None and defined.dialect_options["sqlite"]["autoincrement"]:
        return {"table_kwargs": {"sqlite_autoincrement": True}}
    return {}


_SEQUENCE = table("sqlite_sequence", column("name"), column("seq"))


def _sequences(conn: Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT counters by table (none before the first such table)."""
    if not conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'sqlite_sequence'").first():
        return {}
    return {n: int(s or 0) for n, s in conn.execute(select(_SEQUENCE.c.name, _SEQUENCE.c.seq))}


def _ids_never_reused(conn: Connection, ops: Operations, md: MetaData, model: Model,
                      existing: set[str], before: dict[str, int],
                      result: MigrationResult) -> None:
    """Make every entity table of a SQLite database hand out each id once.

    A table created without ``AUTOINCREMENT`` (databases made before it was declared)
    reuses the highest id after a delete, and the new record would inherit the deleted
    one's audit trail and workflow history (with snapshots of its values), its
    notifications' links and stored idempotent responses. Such a table is rebuilt with
    it, keeping its rows. A rebuild's counter starts at the highest id still there, so
    it (and the counter of a table an earlier step rebuilt) is seeded above the highest
    id the table ever used: its counter before this migration, its rows, and every
    ``record_id`` the engine's tables marked :data:`RECORD_REFS` hold for the entity.
    """
    refs = [t for t in md.tables.values() if t.info.get(RECORD_REFS) and t.name in existing]
    for entity in model.entities.values():
        name = entity.table_name
        if name not in existing:
            continue
        ddl = conn.execute(select(column("sql")).select_from(table("sqlite_master"))
                           .where(column("type") == "table", column("name") == name)
                           ).scalar_one()
        rebuilt = "AUTOINCREMENT" not in ddl.upper()
        if rebuilt:
            with ops.batch_alter_table(name, recreate="always", **_rebuilt_as(md, name)):
                pass
            result.steps.append(Step("rebuild table", name,
                                     detail="AUTOINCREMENT: a deleted record's id is "
                                            "never given again"))
        current = _sequences(conn).get(name, 0)
        if not rebuilt and current >= before.get(name, 0):
            continue  # the counter was never reset: nothing to seed
        ids = md.tables[name].c.id
        highest = [before.get(name, 0), current,
                   conn.execute(select(func.max(ids))).scalar() or 0]
        if not entity.child:  # the engine's tables name documents, not their lines
            highest += [conn.execute(select(func.max(t.c.record_id))
                                     .where(t.c.entity == entity.name)).scalar() or 0
                        for t in refs]
        floor = max(highest)
        if floor <= current:
            continue
        if name in _sequences(conn):
            conn.execute(update(_SEQUENCE).where(_SEQUENCE.c.name == name).values(seq=floor))
        else:
            conn.execute(insert(_SEQUENCE).values(name=name, seq=floor))


def _rename_column(conn: Connection, tname: str, old: str, new: str) -> None:
    q = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"ALTER TABLE {q(tname)} RENAME COLUMN {q(old)} TO {q(new)}")


def _convert(conn: Connection, ops: Operations, target: Table, f: Field,
             old_sig: dict[str, Any], *, null_failures: bool) -> list[RowFailure]:
    """Re-read every value of ``f``'s column with the new type; swap the column in."""
    tname, tmp = target.name, f"yiti_tmp_{f.name}"[:63]
    old_field = field_from_signature(f.name, old_sig)
    old_view = table(tname, column("id"), column(f.name, column_type(old_field)))
    ops.add_column(tname, Column(tmp, column_type(f), nullable=True))
    new_view = table(tname, column("id"), column(tmp, column_type(f)))
    failures: list[RowFailure] = []
    last = 0
    while True:
        rows = conn.execute(
            select(old_view.c.id, old_view.c[f.name]).where(old_view.c.id > last)
            .order_by(old_view.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        for ident, value in rows:
            try:
                converted = parse(f, value)
            except ValueProblem as problem:
                failures.append(RowFailure(tname, f.name, ident, value, problem.message))
                converted = None
            if converted is not None:
                conn.execute(update(new_view).where(new_view.c.id == ident)
                             .values({tmp: converted}))
    if failures and not null_failures:
        return failures
    _drop_column(conn, ops, tname, f.name, target.metadata)
    _rename_column(conn, tname, tmp, f.name)
    return failures


def _sig_text(sig: dict[str, Any]) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sig.items() if k != "type")
    return f"{sig['type']}({extra})" if extra else sig["type"]


def _read_state(conn: Connection) -> dict[tuple[str, str], dict[str, Any]]:
    if "yiti_schema_state" not in inspect(conn).get_table_names():
        return {}
    t = table("yiti_schema_state", column("table_name"), column("column_name"),
              column("signature"))
    import json

    state = {}
    for tname, cname, sig in conn.execute(select(t.c.table_name, t.c.column_name,
                                                 t.c.signature)):
        state[(tname, cname)] = json.loads(sig) if isinstance(sig, str) else sig
    return state


def _write_state(conn: Connection, md: MetaData, model: Model) -> None:
    t = md.tables["yiti_schema_state"]
    conn.execute(delete(t))
    rows = [
        {"table_name": e.table_name, "column_name": name, "signature": sig}
        for e in model.entities.values()
        for name, sig in md.tables[e.table_name].info["signatures"].items()
    ]
    if rows:
        conn.execute(insert(t), rows)
