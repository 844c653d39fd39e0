"""Naming series: ``SO-{YYYY}-{#####}`` gives SO-2026-00001, SO-2026-00002, ...

By default a series never makes a hot row: on PostgreSQL each series key draws from its
own SEQUENCE (``nextval`` takes no lock that lasts the transaction, so concurrent orders
don't queue on their number; a rolled-back number is skipped). A ``gapless`` series, for
documents that legally need an unbroken sequence, increments a counter row inside the
document's transaction, so concurrent documents take turns and a rollback gives the number
back. SQLite serialises writers anyway and always uses the counter row.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import threading
import weakref
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    String,
    TextClause,
    column,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from yiti.db import run_kept, side_engine
from yiti.definitions.model import Entity

TOKEN = re.compile(r"\{([^{}]+)\}")
COUNTER = re.compile(r"^#+$")
DATE_TOKENS = {
    "YYYY": lambda d: f"{d.year:04d}",
    "YY": lambda d: f"{d.year % 100:02d}",
    "MM": lambda d: f"{d.month:02d}",
    "DD": lambda d: f"{d.day:02d}",
}

SERIES = table("yiti_series", column("key", String), column("current", BigInteger))

#: The sequences created (or found) through each engine. Keyed by the engine itself, not
#: its ``id()``: a later engine (another site, a test's new schema) may reuse a freed id.
_known_sequences: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def uses_fields(series: str) -> bool:
    """Whether the series takes a field's value ({channel}), so each record has its key."""
    return any(not COUNTER.match(t) and t not in DATE_TOKENS for t in TOKEN.findall(series))


def split(series: str, values: Mapping[str, Any], now: dt.datetime) -> tuple[str, str, int]:
    """(key, suffix, width): the expanded text before the counter, after it, its width."""
    parts = TOKEN.split(series)
    before: list[str] = []
    after: list[str] = []
    width = 0
    for i, part in enumerate(parts):
        target = after if width else before
        if i % 2 == 0:
            target.append(part)
        elif COUNTER.match(part):
            width = len(part)
        elif part in DATE_TOKENS:
            target.append(DATE_TOKENS[part](now))
        else:  # {field}: a field's value, e.g. a channel code
            target.append(str(values.get(part) or ""))
    return "".join(before), "".join(after), width or 5


def next_names(
    conn: Connection, engine: Engine, entity: Entity, values: Mapping[str, Any], count: int = 1,
    *, timezone: str = "Asia/Shanghai",
) -> list[str]:
    """``count`` new names for records of ``entity`` (``values`` fill field tokens)."""
    assert entity.naming.series
    now = dt.datetime.now(ZoneInfo(timezone))
    key, suffix, width = split(entity.naming.series, values, now)
    if entity.naming.gapless or conn.dialect.name != "postgresql":
        last = _counter(conn, key, count)
        numbers = range(last - count + 1, last + 1)
    else:
        numbers = _sequence(conn, engine, key, count)
    return [f"{key}{n:0{width}d}{suffix}" for n in numbers]


def _counter(conn: Connection, key: str, count: int) -> int:
    dialect_insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)
    conn.execute(dialect_insert(SERIES).values(key=key, current=0).on_conflict_do_nothing())
    return conn.execute(
        update(SERIES).where(SERIES.c.key == key)
        .values(current=SERIES.c.current + count).returning(SERIES.c.current)
    ).scalar_one()


def sequence_name(key: str) -> str:
    return "yiti_seq_" + hashlib.sha1(key.encode()).hexdigest()[:20]


def _sequence(conn: Connection, engine: Engine, key: str, count: int) -> list[int]:
    name = sequence_name(key)
    if name not in _known_sequences.get(engine, ()):
        _create_sequence(engine, name)
    rows = run_kept(conn, _nextval(name), {"n": count})
    return sorted(row["nextval"] for row in rows)


@functools.lru_cache(maxsize=1024)
def _nextval(name: str) -> TextClause:
    """The statement drawing from sequence ``name``, built once (see ``db.run_kept``)."""
    return text(f"SELECT nextval('{name}') FROM generate_series(1, :n)")


def _create_sequence(engine: Engine, name: str) -> None:
    # Outside the caller's transaction: the sequence must outlive a rollback, and two
    # first orders of the year must not wait on each other's DDL.
    with _lock:
        side = side_engine(engine)
        with side.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            try:
                conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name}"))
            except DBAPIError:
                # A concurrent CREATE of the same sequence: it exists now.
                exists = conn.execute(
                    select(text("1")).select_from(text("pg_class")).where(
                        text("relname = :n")), {"n": name}).first()
                if not exists:
                    raise
        _known_sequences.setdefault(engine, set()).add(name)


def seed(conn: Connection, key: str, value: int) -> None:
    """Start a counter-row series after ``value`` (for imported documents)."""
    conn.execute(insert(SERIES).values(key=key, current=value))
