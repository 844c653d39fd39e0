"""Run a report: parameters in, a :class:`Result` out (columns, rows, totals, drill-downs).

``run_report(site, actor, report, raw_params)`` parses the parameters, asks for the pivot
values when the report needs them (a first query), compiles and executes the report in
one read transaction. Every number comes from the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from yiti.definitions.model import Entity, Label
from yiti.permissions.policy import Actor
from yiti.records.transaction import reading
from yiti.reports import buckets
from yiti.reports.compile import Compiled, OutColumn, ReportCompiler
from yiti.reports.params import values as param_values
from yiti.reports.spec import Report, walk
from yiti.schema.statistics import derived_columns


@dataclass
class Row:
    """One result row: ``values`` by column key; ``level`` 0 for a detail row, n for a
    subtotal with n keys rolled up, ``len(groups)`` for the grand total."""

    values: dict[str, Any]
    level: int = 0
    kind: str = "detail"  # "detail", "subtotal" or "total"
    id: Any = None  # detail reports: the record's id


@dataclass
class Result:
    report: Report
    entity: Entity
    columns: list[OutColumn]
    rows: list[Row]
    params: dict[str, Any]
    filters: list[tuple[str, str, Any]]
    groups: list[OutColumn] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    pivot: OutColumn | None = None
    pivot_values: list[Any] = field(default_factory=list)
    pivot_truncated: bool = False
    tz: str = "Asia/Shanghai"
    model: Any = None

    def header(self, column: OutColumn) -> Label | str:
        """A column's heading; pivot columns are named by their value."""
        if column.pivot_index is None:
            return column.label
        value = self.pivot_values[column.pivot_index]
        text = display_key(self.pivot, value) if self.pivot else str(value)
        many = sum(1 for m in self.columns if m.pivot_index == 0) > 1
        return f"{text} · {_en(column.label)}" if many else text

    def drill(self, row: Row, column: OutColumn | None = None
              ) -> tuple[str, list[tuple[str, str, Any]]]:
        """The entity and filters listing the records behind a cell (or a whole row)."""
        filters = [(p, op, _jsonable(v)) for p, op, v in self.filters]
        for i, g in enumerate(self.groups):
            if row.kind != "detail" and i >= len(self.groups) - row.level:
                continue
            filters += key_filters(g, row.values.get(g.key), self.tz)
        if column is not None and column.pivot_index is not None and self.pivot:
            filters += key_filters(self.pivot, self.pivot_values[column.pivot_index], self.tz)
        return drill_target(self.entity, filters, self.model)


def _en(label: Any) -> str:
    if isinstance(label, Mapping):
        return label.get("en") or next(iter(label.values()), "")
    return str(label)


def display_key(column: OutColumn, value: Any) -> str:
    if column.bucket:
        return buckets.label(buckets.as_date(value), column.bucket)
    return "" if value is None else str(value)


def key_filters(column: OutColumn, value: Any, tz: str) -> list[tuple[str, str, Any]]:
    path = column.path or ""
    if value is None:
        return [(path, "is null", None)]
    if column.bucket:
        ftype = column.field.type if column.field else "date"
        return buckets.range_filters(path, buckets.as_date(value), column.bucket, ftype, tz)
    field = column.field
    if field is not None and field.type == "select" and value not in {
            o.value for o in field.options}:
        return [(path, "like", value)]  # an option since removed, which `=` would refuse
    return [(path, "=", _jsonable(value))]


def drill_target(entity: Entity, filters: list[tuple[str, str, Any]], model: Any = None
                 ) -> tuple[str, list[tuple[str, str, Any]]]:
    """Lines have no list of their own: their drill-down lists the parents having such a
    line (``parent.x`` becomes ``x``, a line's ``qty`` becomes ``lines.qty``)."""
    if not entity.child or not entity.parent or model is None:
        return entity.name, filters
    parent = model.entities[entity.parent]
    table = next(f.name for f in parent.table_fields if f.target == entity.name)
    out = []
    for path, op, value in filters:
        path = path[len("parent."):] if path.startswith("parent.") else f"{table}.{path}"
        out.append((path, op, value))
    return parent.name, out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def run_report(site: Any, actor: Actor, report: Report, raw: Mapping[str, Any] | None = None,
               *, extra_filters: list[tuple[str, str, Any]] | None = None) -> Result:
    """Run ``report`` for ``actor`` with parameters ``raw`` (strings or typed values)."""
    tz = site.settings.timezone
    params = param_values(report, raw or {}, site.model, tz)
    with reading(site.engine) as conn:
        stored = derived_columns(conn, _bucketed_tables(site.model, report))
        found: list[Any] | None = None
        truncated = False
        if report.pivot is not None and report.pivot.values is None and report.measures:
            first = ReportCompiler(site, actor, report, params, extra_filters,
                                   bucket_columns=stored)
            if first.visible(report.pivot.group.path):
                found = [r[0] for r in conn.execute(first.pivot_values_query())]
                if report.pivot.group.bucket:
                    found = [buckets.as_date(v) for v in found]
                truncated = len(found) > report.pivot.limit
                found = found[:report.pivot.limit]
        compiled = ReportCompiler(site, actor, report, params, extra_filters,
                                  bucket_columns=stored).compile(found)
        rows = _rows(conn, compiled)
    return Result(report, compiled.entity, compiled.columns, rows, params, compiled.filters,
                  compiled.groups, compiled.hidden, compiled.pivot, compiled.pivot_values,
                  truncated, tz, site.model)


def _bucketed_tables(model: Any, report: Report) -> set[str]:
    """The tables holding the report's datetime keys with a bucket (the ones that may
    have a stored bucket column)."""
    entity = model.entities.get(report.entity)
    out: set[str] = set()
    for key in (*report.groups, *report.columns, *([report.pivot.group] if report.pivot
                                                    else [])):
        found = walk(model, entity, key.path) if key.bucket and entity else None
        if found is not None and not isinstance(found, str) and found[1].type == "datetime":
            out.add(found[0].table_name)
    return out


def _rows(conn: Any, compiled: Compiled) -> list[Row]:
    out: list[Row] = []
    n = len(compiled.groups)
    for raw in conn.execute(compiled.query).mappings():
        values = {c.key: raw[c.key] for c in compiled.columns}
        if compiled.report.is_detail:
            out.append(Row(values, id=raw["_id"]))
            continue
        level = sum(int(raw[f] or 0) for f in compiled.flags)
        kind = "detail" if level == 0 else ("total" if level == n else "subtotal")
        out.append(Row(values, level, kind))
    if compiled.totals_query is not None:
        raw = conn.execute(compiled.totals_query).mappings().one()
        out.append(Row({c.key: raw.get(c.key) for c in compiled.columns}, n, "total"))
    return out
