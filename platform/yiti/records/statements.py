"""The statements the record service runs on every read or write of one record.

Each is built once per table and kept with it (:func:`yiti.db.kept_statement`):
SQLAlchemy then neither rebuilds nor re-keys it on each call (a wide insert built with
``.values(row)`` costs about 0.4 ms more). Their parameters come with the call;
``_where_*`` names the WHERE clause's, the rest are column values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from yiti.db import kept_statement

STATEMENTS: dict[str, Callable[[Any], Any]] = {
    "by_id": lambda t: select(t).where(t.c.id == bindparam("_where_id")),
    "lines_of": lambda t: select(t).where(t.c.parent_id == bindparam("_where_parent"))
    .order_by(t.c.idx),
    "insert": lambda t: insert(t).returning(*t.c),
    "insert_id": lambda t: insert(t).returning(t.c.id),
    "update_version": lambda t: update(t).where(
        t.c.id == bindparam("_where_id"), t.c.version == bindparam("_where_version"),
    ).returning(*t.c),
    "update_line": lambda t: update(t).where(t.c.id == bindparam("_where_id"))
    .values(version=t.c.version + 1).returning(*t.c),
}


def statement(table: Any, kind: str) -> Any:
    """The statement ``kind`` of :data:`STATEMENTS` for ``table``."""
    return kept_statement(table, kind, STATEMENTS[kind])


def plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as a dict with plain ``str`` keys (SQLAlchemy's are a str subclass)."""
    return {str(k): v for k, v in row.items()}
