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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, text

from yiti.definitions.model import Model
from yiti.schema.tables import short_name

PREFIX = "ystat_"
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


Provider = Callable[[Model, MetaData, "str | None"], Iterable[Wanted]]
_providers: dict[str, Provider] = {}


def register_statistics(name: str, provider: Provider) -> None:
    """Add (or replace) the provider called ``name``."""
    _providers[name] = provider


def wanted(model: Model, md: MetaData, timezone: str | None) -> dict[str, Wanted]:
    """Every statistics object the providers want, by name (duplicates merged)."""
    out: dict[str, Wanted] = {}
    for provider in _providers.values():
        for item in provider(model, md, timezone):
            if item.table not in md.tables or not item.elements:
                continue
            item = Wanted(item.table, tuple(item.elements[:MAX_ELEMENTS]), item.why)
            if len(item.elements) == 1 and not item.elements[0].startswith("("):
                continue  # one plain column: ANALYZE already counts its values
            out.setdefault(item.name, item)
    return out


def keep(conn: Connection, model: Model, md: MetaData, timezone: str | None
         ) -> list[tuple[str, str, str]]:
    """Create the wanted statistics, drop the unwanted ``ystat_`` ones, analyse the tables
    that got new ones; returns the steps taken as (kind, table, detail)."""
    if conn.dialect.name != "postgresql":
        return []
    want = wanted(model, md, timezone)
    have = dict(tuple(r) for r in conn.execute(text(
        "SELECT s.stxname, c.relname FROM pg_statistic_ext s "
        "JOIN pg_class c ON c.oid = s.stxrelid "
        "WHERE s.stxnamespace = current_schema()::regnamespace "
        "AND s.stxname LIKE 'ystat\\_%'")).all())
    steps: list[tuple[str, str, str]] = []
    q = conn.dialect.identifier_preparer.quote
    for name in sorted(set(have) - set(want)):
        conn.execute(text(f"DROP STATISTICS {q(name)}"))
        steps.append(("drop statistics", have[name], name))
    missing = [w for n, w in sorted(want.items()) if n not in have]
    if missing and (conn.dialect.server_version_info or (0,)) < (14,):
        return [*steps, ("skip statistics", "*",
                         "statistics on expressions need PostgreSQL 14 or later")]
    analyse: set[str] = set()
    for w in missing:
        conn.execute(text(f"CREATE STATISTICS {q(w.name)} ON {', '.join(w.elements)} "
                          f"FROM {q(w.table)}"))
        analyse.add(w.table)
        steps.append(("add statistics", w.table, f"{', '.join(w.elements)} ({w.why})"
                      if w.why else ", ".join(w.elements)))
    for table_name in sorted(analyse):
        conn.execute(text(f"ANALYZE {q(table_name)}"))
    return steps
