"""Saved views: a user's named filter, sort and search of a list, kept as a query string.

They live in the engine table ``yiti_saved_view`` (registered with ``@system_table``),
one row per user, entity and name; saving a name again replaces it. They hold no data,
only the question, so a saved view never shows a user more than the service allows.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy import delete as sql_delete

from yiti.schema.tables import system_table
from yiti.schema.types import KeyType, UTCDateTime
from yiti.site import Site

TABLE = "yiti_saved_view"
#: Parameters a saved view keeps: filters, search and sort, never a page position.
KEPT = ("q", "sort")


@system_table
def saved_view_table(md: MetaData) -> None:
    Table(
        TABLE, md,
        Column("id", KeyType, primary_key=True, autoincrement=True),
        Column("user", String(140), nullable=False),
        Column("entity", String(63), nullable=False),
        Column("name", String(100), nullable=False),
        Column("query", Text, nullable=False),
        Column("modified_at", UTCDateTime(), nullable=False),
        Index("uq_yiti_saved_view_user_entity_name", "user", "entity", "name", unique=True),
    )


def ensure_table(site: Site) -> Table:
    """The table, added to a site built before this module was imported, and created
    if missing (``yiti migrate`` creates it when the module is imported first)."""
    if TABLE not in site.metadata.tables:
        saved_view_table(site.metadata)
    table = site.metadata.tables[TABLE]
    table.create(site.engine, checkfirst=True)
    return table


def clean_query(query: str) -> str:
    """Only filter, search and sort parameters, re-encoded."""
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"))
             if v and (k.startswith("f.") or k in KEPT)]
    return urlencode(pairs)[:4000]


def for_user(site: Site, user: str, entity: str) -> list[dict]:
    t = site.metadata.tables[TABLE]
    with site.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.name, t.c.query).where(
            t.c.user == user, t.c.entity == entity).order_by(t.c.name)).mappings().all()
    return [dict(r) for r in rows]


def get(site: Site, user: str, entity: str, ident: str) -> str | None:
    if not str(ident).isdigit():
        return None
    t = site.metadata.tables[TABLE]
    with site.engine.connect() as conn:
        return conn.execute(select(t.c.query).where(
            t.c.id == int(ident), t.c.user == user, t.c.entity == entity)).scalar()


def save(site: Site, user: str, entity: str, name: str, query: str) -> int:
    t = site.metadata.tables[TABLE]
    query = clean_query(query)
    now = dt.datetime.now(dt.UTC)
    mine = and_(t.c.user == user, t.c.entity == entity, t.c.name == name)
    with site.engine.begin() as conn:
        ident = conn.execute(select(t.c.id).where(mine)).scalar()
        if ident is not None:
            conn.execute(update(t).where(t.c.id == ident).values(query=query, modified_at=now))
            return ident
        return conn.execute(insert(t).values(user=user, entity=entity, name=name, query=query,
                                             modified_at=now).returning(t.c.id)).scalar_one()


def delete(site: Site, user: str, entity: str, ident: int) -> None:
    t = site.metadata.tables[TABLE]
    with site.engine.begin() as conn:
        conn.execute(sql_delete(t).where(t.c.id == ident, t.c.user == user, t.c.entity == entity))

