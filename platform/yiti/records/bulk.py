"""Writing many rows at once, as cheaply as each database allows.

Bulk creates (imports, loads) go through the same checks as single ones; only the final
write changes. :func:`write_rows` sends a batch in one go on the DB-API connection
under the caller's transaction: PostgreSQL's ``COPY`` (ids drawn from the table's
sequence first), which skips per-statement parsing and planning; elsewhere one
``executemany`` of plain tuples. Either way each value goes through its column type's
own bind processor (the conversion SQLAlchemy would apply), and a value every row shares
(the same object: the time of the write, the user, the version) is converted once
for the batch instead of once a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import repeat
from operator import is_, itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table, text
from sqlalchemy.exc import IntegrityError

#: Below this many rows a plain INSERT is as fast and simpler.
COPY_THRESHOLD = 50

Processor = Callable[[Any], Any] | None


def draw_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` new ids from the table's own sequence (as its inserts would take)."""
    return list(conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": count},
    ).scalars())


def write_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, ids included where wanted) in one
    ``COPY`` on PostgreSQL, one ``executemany`` elsewhere.

    A unique or foreign-key violation raises SQLAlchemy's :class:`IntegrityError`, as
    ``conn.execute(insert(table), rows)`` would.
    """
    if not rows:
        return
    columns = list(rows[0])
    if any(len(row) != len(columns) for row in rows):
        raise ValueError("write_rows needs rows with the same columns")
    dialect = conn.dialect
    copying = dialect.name == "postgresql"
    processors = [_processor(conn, table.c[name], copying) for name in columns]
    # Values every row shares (the same object) are converted once; columns without a
    # conversion are taken from each row in one step.
    first = rows[0]
    same: list[tuple[str, Processor]] = []
    plain: list[str] = []
    converted: list[tuple[str, Callable[[Any], Any]]] = []
    for name, p in zip(columns, processors, strict=True):
        if all(map(is_, map(itemgetter(name), rows), repeat(first[name]))):
            same.append((name, p))
        elif p is None:
            plain.append(name)
        else:
            converted.append((name, p))
    shared = tuple(_convert(p, first[name]) for name, p in same)
    order = plain + [name for name, _ in converted] + [name for name, _ in same]
    take = _tuple_getter(plain)
    data = [take(row) + tuple([None if (v := row[name]) is None else p(v)
                               for name, p in converted]) + shared for row in rows]
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(name) for name in order)
    target = preparer.format_table(table)
    driver = conn.connection.driver_connection
    integrity_error = dialect.loaded_dbapi.IntegrityError
    if copying:
        statement = f"COPY {target} ({names}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for values in data:
                    copy.write_row(values)
        except integrity_error as error:
            raise IntegrityError(statement, None, error) from None
        return
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in order)
    statement = f"INSERT INTO {target} ({names}) VALUES ({marks})"
    cursor = driver.cursor()
    try:
        cursor.executemany(statement, data)
    except integrity_error as error:
        raise IntegrityError(statement, None, error) from None
    finally:
        cursor.close()


def copy_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``COPY table FROM STDIN`` the rows (PostgreSQL; see :func:`write_rows`)."""
    if conn.dialect.name != "postgresql":
        raise ValueError("COPY is PostgreSQL's")
    write_rows(conn, table, rows)


def _processor(conn: Connection, column: Any, copying: bool) -> Processor:
    if isinstance(column.type, JSON):
        if copying:  # COPY takes JSON as text
            def convert(v: Any) -> Any:
                return json.dumps(v, default=str)
        else:
            convert = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        empty = convert({})

        def convert_json(v: Any) -> Any:  # {} is common (audit rows of untracked entities)
            return empty if v.__class__ is dict and not v else convert(v)

        return convert_json
    return column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)


def _tuple_getter(names: list[str]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if not names:
        return lambda row: ()
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return itemgetter(*names)


def _convert(processor: Processor, value: Any) -> Any:
    return processor(value) if processor is not None and value is not None else value
