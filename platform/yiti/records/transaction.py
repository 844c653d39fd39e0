"""One transaction per operation, or one for several (a unit of work).

The current transaction is kept in a context variable, so hooks and nested calls made
while an operation runs join it instead of opening another; threads and requests each
start with none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from yiti.db import WRITE, commit


@dataclass
class Transaction:
    engine: Engine
    conn: Connection
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: Run in the transaction just before it commits (writes gathered along the way, such
    #: as audit rows, go out together); not when it rolls back.
    before_commit: list[Callable[[], None]] = field(default_factory=list)
    #: Writes whose results nobody reads, as (kept statement, parameters): sent with the
    #: COMMIT, after ``before_commit`` (see :func:`yiti.db.commit`); not when it rolls back.
    with_commit: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    #: Values kept for the length of the transaction (hook re-entrancy counts, caches).
    state: dict[str, object] = field(default_factory=dict)


_current: ContextVar[Transaction | None] = ContextVar("yiti_transaction", default=None)


def current(engine: Engine) -> Transaction | None:
    tx = _current.get()
    return tx if tx is not None and tx.engine is engine else None


@contextmanager
def transaction(engine: Engine) -> Iterator[Transaction]:
    """Join the current transaction on ``engine``, or run a new one and commit it.

    Callbacks in ``before_commit`` run inside it just before it commits, then the
    ``with_commit`` writes go out with the COMMIT, and ``after_commit`` callbacks run once
    the outermost transaction has committed; none of them when it rolls back. ``after_commit`` is where jobs and notifications are released.
    """
    tx = current(engine)
    if tx is not None:
        yield tx
        return
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE: True})
        tx = Transaction(engine, conn)
        token = _current.set(tx)
        try:
            with conn.begin():
                yield tx
                while tx.before_commit:
                    tx.before_commit.pop(0)()
                commit(conn, tx.with_commit)
        finally:
            _current.reset(token)
    for callback in tx.after_commit:
        callback()


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads: the current transaction's, or a fresh one.

    A fresh one on PostgreSQL runs each statement in its own transaction (autocommit):
    at READ COMMITTED every statement takes its own snapshot anyway, and the reads save
    the round trips of BEGIN and ROLLBACK. SQLite keeps its transaction, which gives the
    reads one snapshot.
    """
    tx = current(engine)
    if tx is not None:
        yield tx.conn
        return
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
