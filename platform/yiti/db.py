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

import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event
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
