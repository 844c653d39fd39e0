"""Naming series: ``SO-{YYYY}-{#####}`` gives SO-2026-00001, SO-2026-00002, ...

By default a series never makes a hot row: on PostgreSQL each series key draws from its
own SEQUENCE (``nextval`` takes no lock that lasts the transaction, so concurrent orders
don't queue on their number; a rolled-back number is skipped). A ``gapless`` series, for
documents that legally need an unbroken sequence, increments a counter row inside the
document's transaction, so concurrent documents take turns and a rollback gives the number
back. SQLite serialises writers anyway and always uses the counter row.

Either way a number some record already has as its name (an imported document kept its
own, a record was named by hand) is skipped, and the series draws the next: on a sequence
in the same statement that draws, on a counter row with one more query after the draw.
Otherwise the create would fail on the name's unique index, and on a counter row, whose
increment rolls back with it, every later create would draw the same number again.
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
    names: list[str] = []
    # Each round draws past the last one's numbers, and only records that exist can make
    # it draw again, so this ends; rarely is there a second round.
    while len(names) < count:
        want = count - len(names)
        if entity.naming.gapless or conn.dialect.name != "postgresql":
            last = _counter(conn, key, want)
            drawn = [f"{key}{n:0{width}d}{suffix}" for n in range(last - want + 1, last + 1)]
            taken = _taken(conn, entity.table_name, drawn)
            names += [name for name in drawn if name not in taken]
        else:
            rows = _sequence(conn, engine, entity.table_name, key, suffix, width, want)
            names += [f"{key}{n:0{width}d}{suffix}" for n, is_taken in rows if not is_taken]
    return names


def _taken(conn: Connection, table_name: str, names: list[str]) -> set[str]:
    """Which of ``names`` records of the table already have."""
    t = table(table_name, column("name", String))
    taken: set[str] = set()
    for i in range(0, len(names), _CHUNK):
        taken.update(conn.execute(
            select(t.c.name).where(t.c.name.in_(names[i:i + _CHUNK]))).scalars())
    return taken


#: Names looked up in one query (SQLite allows 32,766 parameters; stay well under).
_CHUNK = 500


def _counter(conn: Connection, key: str, count: int) -> int:
    dialect_insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)
    conn.execute(dialect_insert(SERIES).values(key=key, current=0).on_conflict_do_nothing())
    return conn.execute(
        update(SERIES).where(SERIES.c.key == key)
        .values(current=SERIES.c.current + count).returning(SERIES.c.current)
    ).scalar_one()


def sequence_name(key: str) -> str:
    return "yiti_seq_" + hashlib.sha1(key.encode()).hexdigest()[:20]


def _sequence(conn: Connection, engine: Engine, table_name: str, key: str, suffix: str,
              width: int, count: int) -> list[tuple[int, bool]]:
    """``count`` numbers drawn from the key's sequence, in order, each with whether a
    record of ``table_name`` already has the name it makes (one round trip)."""
    name = sequence_name(key)
    if name not in _known_sequences.get(engine, ()):
        _create_sequence(engine, name)
    rows = run_kept(conn, _nextval(name, table_name),
                    {"n": count, "prefix": key, "suffix": suffix, "width": width})
    return sorted((row["nextval"], row["taken"]) for row in rows)


@functools.lru_cache(maxsize=1024)
def _nextval(name: str, table_name: str) -> TextClause:
    """The statement drawing from sequence ``name`` and telling which drawn numbers'
    names records of ``table_name`` have, built once (see ``db.run_kept``). The draw is a
    CTE so each number is drawn once (PostgreSQL never inlines a CTE calling a volatile
    function); the name is formatted as Python's ``f"{n:0{width}d}"`` would (``lpad``
    alone would cut a number wider than the counter)."""
    quoted = _PG.identifier_preparer.quote(table_name)
    number = "CAST(drawn.v AS text)"
    width = "CAST(:width AS integer)"
    return text(
        f"WITH drawn AS (SELECT nextval('{name}') AS v FROM generate_series(1, :n)) "
        f"SELECT drawn.v AS nextval, EXISTS (SELECT 1 FROM {quoted} AS t WHERE t.name = "
        f"CAST(:prefix AS text) || lpad({number}, greatest({width}, length({number})), '0')"
        f" || CAST(:suffix AS text)) AS taken FROM drawn")


_PG = postgresql.dialect()


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
