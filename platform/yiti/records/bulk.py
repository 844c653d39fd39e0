"""Writing many rows at once: PostgreSQL's COPY, with ids drawn from the table's sequence.

Bulk creates (imports, loads) go through the same checks as single ones; only the final
write changes. COPY skips per-statement parsing and planning, which is most of the cost
of a batch insert.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Connection, Table, text
from sqlalchemy.types import TypeDecorator

#: Below this many rows a plain INSERT is as fast and simpler.
COPY_THRESHOLD = 50


def draw_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` new ids from the table's own sequence (as its inserts would take)."""
    return list(conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": count},
    ).scalars())


def copy_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``COPY table FROM STDIN`` the rows (each holding every column it sets)."""
    columns = list(rows[0])
    cols = [table.c[name] for name in columns]
    dialect = conn.dialect
    processors = []
    for col in cols:
        if isinstance(col.type, JSON):
            processors.append(lambda v: None if v is None else json.dumps(v, default=str))
        elif isinstance(col.type, TypeDecorator):
            processors.append(lambda v, t=col.type: t.process_bind_param(v, dialect))
        else:
            processors.append(None)
    quote = dialect.identifier_preparer.quote
    statement = (f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                 "FROM STDIN")
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([p(row[c]) if p else row[c]
                            for c, p in zip(columns, processors, strict=True)])
