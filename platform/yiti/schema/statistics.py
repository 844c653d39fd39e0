"""Extended statistics (PostgreSQL) that engine parts derive from the definitions.

PostgreSQL chooses how to run a ``GROUP BY`` from its estimate of how many groups there
will be. For a plain column it knows (``ANALYZE`` counts distinct values); for an
expression such as a report's month of a datetime in the site's time zone it does not,
and it guesses from the column inside (every distinct timestamp a group). With a million
rows that guess makes it sort them all instead of hashing a few hundred groups, and it
does not plan a parallel aggregate. ``CREATE STATISTICS`` on the expression, and on the
group keys of one table together (ndistinct, dependencies), gives it the real number.

Engine parts register a *provider* (:func:`register_statistics`): given the model, its
tables and the site's time zone, it names the statistics it wants (table and elements,
each element a quoted column or a parenthesised expression, written exactly as the
queries will write it). ``yiti migrate`` (:func:`keep`) creates the missing ones, named
``ystat_<table>_<hash of the elements>``, analyses their tables so they take effect at
once, and drops the ``ystat_`` statistics no provider wants any more (a statistics object
holds no data: dropping one is not destructive). SQLite has nothing of the kind; there
this does nothing.

Providers may also ask for **derived columns** (:class:`Derived`): a stored generated
column holding an expression of the row's own columns (a report's month of a datetime in
the site's zone), computed once when the row is written instead of once per row a report
reads. They are named ``_y_<field>_<what>_<hash of the expression>`` (definitions' field
names cannot start with ``_``), are invisible to the model and to alembic's comparison,
and are dropped before anything else in a migration when no provider wants them (so a
field they read can be renamed, converted or dropped) and added after everything else.
Adding one rewrites the table under an exclusive lock (PostgreSQL computes every row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, text

from yiti.definitions.model import Model
from yiti.schema.tables import short_name

PREFIX = "ystat_"
COLUMN_PREFIX = "_y_"
#: PostgreSQL's limit on the columns and expressions of one statistics object.
MAX_ELEMENTS = 8


@dataclass(frozen=True)
class Wanted:
    """Statistics on ``elements`` of ``table``; ``why`` says who asked (for the plan)."""

    table: str
    elements: tuple[str, ...]
    why: str = ""

    @property
    def name(self) -> str:
        digest = hashlib.sha1("\n".join((self.table, *self.elements)).encode()).hexdigest()
        return short_name(f"{PREFIX}{self.table}_{digest[:12]}")


@dataclass(frozen=True)
class Derived:
    """A stored generated column ``name`` of ``table``: ``expression`` (SQL over the
    table's own columns, immutable), of type ``sql_type``."""

    table: str
    name: str
    sql_type: str
    expression: str
    why: str = ""


def derived_name(field_name: str, what: str, expression: str) -> str:
    """The name of a derived column computing ``expression`` from ``field_name``."""
    digest = hashlib.sha1(expression.encode()).hexdigest()[:8]
    return short_name(f"{COLUMN_PREFIX}{field_name}_{what}_{digest}")


Provider = Callable[[Model, MetaData, "str | None"], Iterable["Wanted | Derived"]]
_providers: dict[str, Provider] = {}


def register_statistics(name: str, provider: Provider) -> None:
    """Add (or replace) the provider called ``name``."""
    _providers[name] = provider


def wanted(model: Model, md: MetaData, timezone: str | None) -> dict[str, Wanted]:
    """Every statistics object the providers want, by name (duplicates merged)."""
    out: dict[str, Wanted] = {}
    for provider in _providers.values():
        for item in provider(model, md, timezone):
            if not isinstance(item, Wanted) or item.table not in md.tables \
                    or not item.elements:
                continue
            item = Wanted(item.table, tuple(item.elements[:MAX_ELEMENTS]), item.why)
            if len(item.elements) == 1 and not item.elements[0].startswith("("):
                continue  # one plain column: ANALYZE already counts its values
            out.setdefault(item.name, item)
    return out


def derived(model: Model, md: MetaData, timezone: str | None) -> dict[tuple[str, str], Derived]:
    """Every derived column the providers want, by (table, column)."""
    out: dict[tuple[str, str], Derived] = {}
    for provider in _providers.values():
        for item in provider(model, md, timezone):
            if isinstance(item, Derived) and item.table in md.tables:
                out.setdefault((item.table, item.name), item)
    return out


def derived_columns(conn: Connection, tables: Iterable[str] | None = None
                    ) -> frozenset[tuple[str, str]]:
    """The derived columns in the database now, as (table, column), of ``tables`` (by
    default every table: slower, the catalogue is scanned); none on SQLite."""
    if conn.dialect.name != "postgresql":
        return frozenset()
    only = "" if tables is None else "AND c.relname = ANY(:tables) "
    params = {} if tables is None else {"tables": sorted(set(tables))}
    if tables is not None and not params["tables"]:
        return frozenset()
    return frozenset((t, c) for t, c in conn.execute(text(
        "SELECT c.relname, a.attname FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
        f"{only}AND a.attnum > 0 AND NOT a.attisdropped "
        "AND a.attname LIKE '\\_y\\_%'"), params))


def drop_stale_columns(conn: Connection, model: Model, md: MetaData, timezone: str | None
                       ) -> list[tuple[str, str, str]]:
    """Drop the derived columns no provider wants (first in a migration)."""
    if conn.dialect.name != "postgresql":
        return []
    want = derived(model, md, timezone)
    q = conn.dialect.identifier_preparer.quote
    steps = []
    for table_name, name in sorted(derived_columns(conn, md.tables) - set(want)):
        conn.execute(text(f"ALTER TABLE {q(table_name)} DROP COLUMN {q(name)}"))
        steps.append(("drop derived column", table_name, name))
    return steps


def keep(conn: Connection, model: Model, md: MetaData, timezone: str | None
         ) -> list[tuple[str, str, str]]:
    """Add the missing derived columns, create the wanted statistics, drop the unwanted
    ``ystat_`` ones, analyse the tables that got something new; returns the steps taken
    as (kind, table, detail)."""
    if conn.dialect.name != "postgresql":
        return []
    q = conn.dialect.identifier_preparer.quote
    steps: list[tuple[str, str, str]] = []
    analyse: set[str] = set()
    present = derived_columns(conn, md.tables)
    for (table_name, name), d in sorted(derived(model, md, timezone).items()):
        if (table_name, name) in present:
            continue
        conn.execute(text(f"ALTER TABLE {q(table_name)} ADD COLUMN {q(name)} {d.sql_type} "
                          f"GENERATED ALWAYS AS ({d.expression}) STORED"))
        analyse.add(table_name)
        steps.append(("add derived column", table_name,
                      f"{name} = {d.expression}" + (f" ({d.why})" if d.why else "")))
    want = wanted(model, md, timezone)
    have = dict(tuple(r) for r in conn.execute(text(
        "SELECT s.stxname, c.relname FROM pg_statistic_ext s "
        "JOIN pg_class c ON c.oid = s.stxrelid "
        "WHERE s.stxnamespace = current_schema()::regnamespace "
        "AND s.stxname LIKE 'ystat\\_%'")).all())
    for name in sorted(set(have) - set(want)):
        conn.execute(text(f"DROP STATISTICS {q(name)}"))
        steps.append(("drop statistics", have[name], name))
    missing = [w for n, w in sorted(want.items()) if n not in have]
    if missing and (conn.dialect.server_version_info or (0,)) < (14,):
        steps.append(("skip statistics", "*",
                      "statistics on expressions need PostgreSQL 14 or later"))
        missing = []
    for w in missing:
        conn.execute(text(f"CREATE STATISTICS {q(w.name)} ON {', '.join(w.elements)} "
                          f"FROM {q(w.table)}"))
        analyse.add(w.table)
        steps.append(("add statistics", w.table, f"{', '.join(w.elements)} ({w.why})"
                      if w.why else ", ".join(w.elements)))
    for table_name in sorted(analyse):
        conn.execute(text(f"ANALYZE {q(table_name)}"))
    return steps
