"""What PostgreSQL needs to run the declared reports well: statistics and bucket columns.

For every declared report (packs, the site overlay, builder reports saved there) with
groups, ``yiti migrate`` keeps (:mod:`yiti.schema.statistics`):

- per datetime group key bucketed in the site's time zone, a **bucket column**: a stored
  generated column of the field's table holding the bucket
  (:func:`yiti.reports.buckets.bucket`, exactly as the report's SQL writes it), so the
  time zone conversion runs once when a row is written, not once per row a report reads
  (per order line, for an order's month). The compiler groups by it when it is in the
  database (:func:`bucket_column`), else by the expression;
- per table that holds group keys (the report's entity, a linked record, the parent of a
  line), one statistics object on those keys together (date buckets as expressions,
  datetime buckets as their bucket column). With them PostgreSQL knows that a year by
  month makes 12 groups, not one per timestamp, and hashes (in parallel) instead of
  sorting every row.

Nothing changes in the reports' results.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Date, MetaData, column
from sqlalchemy.dialects import postgresql

from yiti.definitions.model import Model
from yiti.reports import buckets, spec
from yiti.schema.statistics import Derived, Wanted, derived_name, register_statistics

_DIALECT = postgresql.dialect()


def bucket_sql(md: MetaData, table_name: str, field_name: str, field_type: str,
               bucket: str, timezone: str) -> str:
    """The bucket of a field as PostgreSQL SQL over the table's own columns."""
    col = column(field_name, md.tables[table_name].c[field_name].type)
    expr = buckets.bucket(col, bucket, field_type=field_type, dialect="postgresql",
                          tz=timezone)
    return str(expr.compile(dialect=_DIALECT, compile_kwargs={"literal_binds": True}))


def bucket_column(md: MetaData, table_name: str, field_name: str, bucket: str,
                  timezone: str) -> str:
    """The name of the bucket column of a datetime field (bucketed in ``timezone``)."""
    sql = bucket_sql(md, table_name, field_name, "datetime", bucket, timezone)
    return derived_name(field_name, bucket, sql)


def element(md: MetaData, table_name: str, field_name: str, field_type: str,
            bucket: str | None, timezone: str | None, why: str = ""
            ) -> tuple[str, Derived | None] | None:
    """A group key as a statistics element (the quoted column, the bucket column, or the
    bucket expression in parentheses) with the bucket column it needs; ``None`` for a
    datetime bucket when the time zone is unknown."""
    quote = _DIALECT.identifier_preparer.quote
    if not bucket:
        return quote(field_name), None
    if field_type != "datetime":
        return f"({bucket_sql(md, table_name, field_name, field_type, bucket, 'UTC')})", None
    if timezone is None:
        return None
    sql = bucket_sql(md, table_name, field_name, field_type, bucket, timezone)
    name = derived_name(field_name, bucket, sql)
    return quote(name), Derived(table_name, name, Date().compile(dialect=_DIALECT), sql, why)


def report_statistics(model: Model, md: MetaData, timezone: str | None
                      ) -> Iterator[Wanted | Derived]:
    """The bucket columns and statistics the declared reports want (see the module)."""
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
            found_element = element(md, owner.table_name, f.name, f.type, g.bucket, timezone,
                                    f"report {name}")
            if found_element is None:
                continue
            item, bucket_col = found_element
            if bucket_col is not None:
                yield bucket_col
            if item not in by_table.setdefault(owner.table_name, []):
                by_table[owner.table_name].append(item)
        for table_name, items in by_table.items():
            yield Wanted(table_name, tuple(sorted(items)), f"report {name}")


register_statistics("reports", report_statistics)
