"""Database engines, set up the same way for every part of Yiti.

SQLite gets foreign keys, WAL, a busy timeout and real transactions (``BEGIN`` issued by
us, so DDL is transactional and a write transaction takes the write lock up front with
``BEGIN IMMEDIATE``, which avoids the deadlock of two readers upgrading to writers).
PostgreSQL gets a small pool: on hot rows more concurrent transactions are slower. A pooled
connection is checked with a ping only when it has been idle for :data:`PING_AFTER`
seconds: under load a ping per checkout is a round trip per request for nothing, while
after a quiet spell (or a database restart) the dead connection is replaced before use.
A connection that breaks while busy fails its statement, and SQLAlchemy then replaces
every connection of the pool.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

from psycopg.pq import ExecStatus
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as _create_engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

#: Execution option that marks a connection as one that will write.
WRITE = "yiti_write"

#: Seconds a pooled PostgreSQL connection may sit idle before it is pinged on checkout.
PING_AFTER = 5.0


def kept_statement(table: Any, key: Any, build: Callable[[Any], Any]) -> Any:
    """``build(table)``, made once and kept in the table's ``info`` under ``key``.

    A statement built once is also compiled once: SQLAlchemy keeps its cache key on the
    statement object, so running it again skips building and keying it (about a quarter
    of a millisecond for a small select). Give it values through ``bindparam``.
    """
    kept = table.info.setdefault("yiti_statements", {})
    stmt = kept.get(key)
    if stmt is None:
        stmt = kept[key] = build(table)
    return stmt


def run_kept(conn: Connection, stmt: Any, params: Mapping[str, Any] | None = None
        ) -> list[dict[str, Any]]:
    """Run a kept statement (:func:`kept_statement`) with ``params``; the rows it returns
    (none for a write without ``RETURNING``), each a dict with plain ``str`` keys.

    On PostgreSQL through psycopg the statement is compiled once for each set of
    parameter names and sent on the psycopg cursor itself: SQLAlchemy's per-execution
    work (an execution context, its events, a result object, the driver's column
    descriptions) costs more than the statement's own round trip for the small
    statements a request sends (see docs/benchmarks.md). The same conversions apply as
    through ``conn.execute``: each type's bind and result processing, SQLAlchemy's errors
    (an ``IntegrityError`` stays one) and the ``before_cursor_execute`` and
    ``after_cursor_execute`` events. Statements this can't send as they are (an
    ``expanding`` ``IN`` list, Python-side defaults) and every other database go through
    ``conn.execute``.
    """
    params = params or {}
    plan = _plan(conn, stmt, params) if conn.dialect.driver == "psycopg" else None
    if plan is None:
        result = conn.execute(stmt, params)
        if not result.returns_rows:
            return []
        keys = [str(k) for k in result.keys()]
        return [dict(zip(keys, row, strict=True)) for row in result]
    return plan.run(conn, params)


#: Plans of :func:`run_kept`, by (statement, dialect); kept statements are few and live as
#: long as their tables, so the cache is cleared only if something floods it.
_plans: dict[tuple[int, int], tuple[Any, dict[frozenset[str], _Plan | None]]] = {}
_MAX_PLANS = 4096
#: Key of a database connection's kept psycopg cursor in its pool record's ``info``.
_CURSOR = "yiti_cursor"


def _plan(conn: Connection, stmt: Any, params: Mapping[str, Any]) -> _Plan | None:
    key = (id(stmt), id(conn.dialect))
    entry = _plans.get(key)
    if entry is None or entry[0] is not stmt:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        entry = _plans[key] = (stmt, {})
    names = frozenset(params)
    try:
        return entry[1][names]
    except KeyError:
        plan = entry[1][names] = _Plan.of(conn, stmt, names)
        return plan


class _Plan:
    """A statement compiled for psycopg, with its bind and result processing."""

    __slots__ = ("compiled", "sql", "binds", "escaped", "rowless", "keys", "results")

    @classmethod
    def of(cls, conn: Connection, stmt: Any, names: frozenset[str]) -> _Plan | None:
        compiled = stmt.compile(dialect=conn.dialect, column_keys=sorted(names))
        if (compiled.positional or compiled.literal_execute_params
                or compiled.post_compile_params or compiled.insert_prefetch
                or compiled.update_prefetch or not compiled._ordered_columns):  # noqa: SLF001
            return None
        plan = cls()
        plan.compiled = compiled
        plan.sql = compiled.string
        plan.binds = dict(compiled._bind_processors)  # noqa: SLF001
        plan.escaped = dict(compiled.escaped_bind_names or {})
        # An insert without RETURNING gets SQLAlchemy's own (the new primary key), which
        # conn.execute keeps to itself: it returns no rows, nor does this.
        plan.rowless = bool(compiled.implicit_returning)
        plan.keys = None  # worked out from the first result's description
        plan.results = None
        return plan

    def run(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        if not conn.in_transaction():
            conn.begin()  # as conn.execute would (autobegin), so conn.commit() commits
        pooled = conn.connection
        cursor = _cursor(pooled)
        sql, sent = self.sql, params
        try:
            sql, sent = self.send(conn, cursor, params)
            # the result's status, not cursor.description, which builds a column
            # object per column each time it is asked
            if self.rowless or cursor.pgresult.status != ExecStatus.TUPLES_OK:
                return []
            if self.keys is None:
                self._describe(conn, cursor.description)
            rows = cursor.fetchall()
        except Exception as error:
            _raise(conn, error, sql, sent, cursor)
        keys, results = self.keys, self.results
        if not any(results):
            return [dict(zip(keys, row, strict=True)) for row in rows]
        return [{k: (p(v) if p else v) for k, p, v in zip(keys, results, row, strict=True)}
                for row in rows]

    def send(self, conn: Connection, cursor: Any, params: Mapping[str, Any]
             ) -> tuple[str, Any]:
        """Execute on ``cursor`` with ``params`` as ``conn.execute`` would send them
        (bind processing, the cursor events); the SQL and parameters sent."""
        binds, escaped = self.binds, self.escaped
        values = self.compiled.construct_params(params, escape_names=False)
        sql = self.sql
        sent = {escaped.get(k, k): (binds[k](v) if k in binds else v)
                for k, v in values.items()}
        events = conn._has_events or conn.engine._has_events  # noqa: SLF001
        if events:
            for listener in conn.dispatch.before_cursor_execute:
                sql, sent = listener(conn, cursor, sql, sent, None, False)
        cursor.execute(sql, sent)
        if events:
            conn.dispatch.after_cursor_execute(conn, cursor, sql, sent, None, False)
        return sql, sent

    def _describe(self, conn: Connection, description: Any) -> None:
        columns = self.compiled._result_columns  # noqa: SLF001
        if not columns:  # a textual statement: the driver's names, its values as they are
            self.results = [None] * len(description)
            self.keys = [str(d.name) for d in description]
            return
        if len(columns) != len(description):
            raise RuntimeError(f"{len(description)} columns returned for {len(columns)} "
                               f"selected: {self.sql}")
        self.results = [c.type._cached_result_processor(conn.dialect, d.type_code)  # noqa: SLF001
                        for c, d in zip(columns, description, strict=True)]
        self.keys = [str(c.keyname) for c in columns]


def _cursor(pooled: Any) -> Any:
    """The psycopg cursor kept for a pooled connection (one per connection)."""
    dbapi = pooled.dbapi_connection
    cursor = pooled.info.get(_CURSOR)
    if cursor is None or cursor.closed or cursor.connection is not dbapi:
        assert dbapi is not None
        cursor = pooled.info[_CURSOR] = dbapi.cursor()
    return cursor


def _raise(conn: Connection, error: Exception, sql: str, sent: Any, cursor: Any
           ) -> NoReturn:
    """Raise ``error`` as SQLAlchemy would: its exception classes (an IntegrityError stays
    one), and a connection that broke is invalidated with its pool. It closes the cursor:
    the next statement opens another."""
    conn.connection.info.pop(_CURSOR, None)
    conn._handle_dbapi_exception(error, sql, sent, cursor, None)  # noqa: SLF001


@functools.cache
def _pipelines() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 and later)."""
    import psycopg

    capabilities = getattr(psycopg, "capabilities", None)
    if capabilities is not None:
        return bool(capabilities.has_pipeline())
    return bool(psycopg.Pipeline.is_supported())  # psycopg 3.1


def commit(conn: Connection, writes: Sequence[tuple[Any, Mapping[str, Any]]] = ()) -> None:
    """Run ``writes`` (kept statements with their parameters, whose results nobody reads:
    a transaction's audit rows, a stored response) and commit ``conn``'s transaction.

    On PostgreSQL through psycopg the writes and the ``COMMIT`` go out together in one
    round trip (psycopg's pipeline mode), not one each. An error in any of them raises
    as :func:`run_kept` would, and nothing is committed: the caller rolls back as after
    any failed statement. Elsewhere, or for a statement :func:`run_kept` would not send
    itself, they run in turn and then the transaction commits.
    """
    plans = ([_plan(conn, stmt, params) for stmt, params in writes]
             if writes and conn.dialect.driver == "psycopg" and conn.in_transaction()
             and _pipelines() else [])
    if not plans or None in plans:
        for stmt, params in writes:
            run_kept(conn, stmt, params)
        conn.commit()
        return
    pooled = conn.connection
    cursor = _cursor(pooled)
    sent: list[str] = []
    try:
        with pooled.dbapi_connection.pipeline():
            for plan, (_stmt, params) in zip(plans, writes, strict=True):
                sent.append(plan.send(conn, cursor, params)[0])
            cursor.execute("COMMIT")
    except Exception as error:
        _raise(conn, error, ";\n".join(sent), None, cursor)
    conn.commit()  # SQLAlchemy's own end of the transaction: psycopg has nothing to send


def create_engine(url: str, **options: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
        options["connect_args"].setdefault("check_same_thread", False)
        engine = _create_engine(url, **options)
        _set_up_sqlite(engine)
        return engine
    options.setdefault("pool_size", 8)
    options.setdefault("max_overflow", 4)
    engine = _create_engine(url, **options)
    if not options.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["yiti_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("yiti_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping opened a transaction
        except Exception as error:  # any failure: the pool tries a fresh connection
            raise DisconnectionError(f"pooled connection failed its ping: {error}") from error


_side_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def side_engine(engine: Engine) -> Engine:
    """The same database through connections that don't come from ``engine``'s pool.

    For the rare work that must happen outside the caller's transaction while it holds a
    pooled connection (creating a naming sequence, reloading permission overrides): taken
    from the pool, it could wait forever when every pooled connection is a transaction
    waiting for the same thing. SQLite has no such pool limit and uses ``engine`` itself.
    """
    if is_sqlite(engine):
        return engine
    side = _side_engines.get(engine)
    if side is None:
        side = _side_engines[engine] = _create_engine(engine.url, poolclass=NullPool)
    return side


def _set_up_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database and engine.url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine_or_conn: Any) -> bool:
    return engine_or_conn.dialect.name == "sqlite"
