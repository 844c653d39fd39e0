"""The statistics PostgreSQL needs to plan the declared reports well.

For every declared report (packs, the site overlay, builder reports saved there) with
groups: per table that holds group keys (the report's entity, a linked record, the parent
of a line), one statistics object on those keys together, date buckets written exactly as
the report's SQL writes them (:func:`yiti.reports.buckets.bucket`, in the site's time
zone). ``yiti migrate`` keeps them (:mod:`yiti.schema.statistics`). With them PostgreSQL
knows that a year by month makes 12 groups, not one per timestamp, and hashes (in
parallel) instead of sorting every row. Nothing changes in the reports' results.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import MetaData, column
from sqlalchemy.dialects import postgresql

from yiti.definitions.model import Model
from yiti.reports import buckets, spec
from yiti.schema.statistics import Wanted, register_statistics

_DIALECT = postgresql.dialect()


def element(md: MetaData, table_name: str, field_name: str, field_type: str,
            bucket: str | None, timezone: str | None) -> str | None:
    """A group key as a statistics element: the quoted column, or the bucket expression
    in parentheses (``None`` for a datetime bucket when the time zone is unknown)."""
    quoted = _DIALECT.identifier_preparer.quote(field_name)
    if not bucket:
        return quoted
    if field_type == "datetime" and timezone is None:
        return None
    col = column(field_name, md.tables[table_name].c[field_name].type)
    expr = buckets.bucket(col, bucket, field_type=field_type, dialect="postgresql",
                          tz=timezone or "UTC")
    sql = str(expr.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))
    return f"({sql})"


def report_statistics(model: Model, md: MetaData, timezone: str | None) -> Iterator[Wanted]:
    for name, definition in model.reports.items():
        report = spec.read(name, definition.body, definition.module)
        entity = model.entities.get(report.entity)
        if entity is None or report.is_detail:
            continue
        keys = [*report.groups, *([report.pivot.group] if report.pivot else [])]
        by_table: dict[str, list[str]] = {}
        for g in keys:
            found = spec.walk(model, entity, g.path)
            if isinstance(found, str):
                continue
            owner, f = found
            if owner.table_name not in md.tables or f.name not in md.tables[owner.table_name].c:
                continue
            item = element(md, owner.table_name, f.name, f.type, g.bucket, timezone)
            if item is not None and item not in by_table.setdefault(owner.table_name, []):
                by_table[owner.table_name].append(item)
        for table_name, items in by_table.items():
            yield Wanted(table_name, tuple(sorted(items)), f"report {name}")


register_statistics("reports", report_statistics)
