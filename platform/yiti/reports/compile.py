"""A report compiled to one SQL query (SQLAlchemy Core), for one actor.

The list compiler (:class:`yiti.records.query.Compiler`) resolves every path, joining
links (with the linked entity's row rule in the join's ON clause, so a record the actor
may not see reads as empty) and compiles the filters. On top of it this module adds:

- group keys, date buckets (:mod:`.buckets`) and aggregates;
- measures over a parent's lines, pre-aggregated per parent in a subquery so the
  parent's own counts are not multiplied by its lines;
- a pivot: one conditional aggregate per (pivot value, measure);
- totals and subtotals: ``GROUP BY ROLLUP`` / ``GROUPING SETS`` on PostgreSQL, the
  same sets as ``UNION ALL`` of grouped selects on SQLite. Each row carries one flag per
  group key (``GROUPING(key)``: 1 where the key is rolled up).

Fields the actor may not read are left out of the report (listed in ``hidden``); the
source entity's row rule is in the WHERE clause. Nothing is aggregated in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
    type_coerce,
    union_all,
)

from yiti.definitions.model import Entity, Field, Label
from yiti.errors import FieldProblem, ValidationError
from yiti.permissions.policy import Actor
from yiti.records.query import Compiler
from yiti.reports import buckets
from yiti.reports.spec import Group, Measure, Report, through_lines, walk
from yiti.reports.statistics import bucket_column
from yiti.schema.types import ExactDecimal
from yiti.values import DECIMAL_DEFAULTS

#: Extra digits an average keeps beyond its field's scale (truncated, on both databases).
AVG_EXTRA_SCALE = 4
DETAIL_LIMIT = 1000
MAX_LIMIT = 10_000


@dataclass
class OutColumn:
    """One column of the result: ``key`` is its SQL label (``c0``, ``c1``...)."""

    key: str
    name: str  # the group, measure or column name in the definition
    kind: str  # "group", "measure" or "column"
    label: Label
    field: Field | None = None
    path: str | None = None
    bucket: str | None = None
    agg: str | None = None
    pivot_index: int | None = None  # a pivot column: index into ``pivot_values``


@dataclass
class Compiled:
    """What :func:`compile_report` builds; :mod:`.run` executes it."""

    report: Report
    entity: Entity
    columns: list[OutColumn]
    query: Any  # an executable Select or CompoundSelect
    groups: list[OutColumn]  # the visible group keys, in order
    flags: list[str]  # the labels of the rolled-up flags, one per group key
    filters: list[tuple[str, str, Any]]  # the report's filters with parameter values
    hidden: list[str] = field(default_factory=list)
    pivot: OutColumn | None = None
    pivot_values: list[Any] = field(default_factory=list)
    totals_query: Any = None  # a second query for totals when the rows are limited


def _scale(f: Field | None) -> int:
    """Digits after the point of a field's values (0 for whole numbers)."""
    if f is None or f.type not in DECIMAL_DEFAULTS:
        return 0
    return DECIMAL_DEFAULTS[f.type][1] if f.scale is None else f.scale


class ReportCompiler:
    """Compiles one report for one actor against a site's tables."""

    def __init__(self, site: Any, actor: Actor, report: Report, params: Mapping[str, Any],
                 extra_filters: list[tuple[str, str, Any]] | None = None, *,
                 bucket_columns: frozenset[tuple[str, str]] = frozenset()) -> None:
        """``bucket_columns``: the (table, column) bucket columns in the database now
        (:func:`yiti.schema.statistics.derived_columns`); a bucket is grouped by its
        column when there is one, else computed by its expression."""
        self.site, self.actor, self.report, self.params = site, actor, report, params
        self.bucket_columns = bucket_columns
        self.model = site.model
        self.policy = site.policy
        self.dialect = site.engine.dialect.name
        self.tz = site.settings.timezone
        try:
            self.entity = self.model.entity(report.entity)
        except KeyError as error:
            raise ValidationError([FieldProblem("entity", str(error.args[0]))]) from None
        self.policy.check(actor, self.entity, "read", None)
        self.compiler = Compiler(self.model, self.entity, site.tables,
                                 join_filter=lambda e, alias: self.policy.row_filter(
                                     actor, e, alias))
        self.hidden: list[str] = []
        self.extra_filters = extra_filters or []

    # -- permissions ----------------------------------------------------------------

    def visible(self, path: str) -> bool:
        """Whether the actor may read every field along ``path``."""
        current = self.entity
        for i, part in enumerate(path.split(".")):
            if part == "parent" and current.child and i < len(path.split(".")) - 1:
                current = self.model.entities[current.parent or ""]
                continue
            readable = self.policy.readable(self.actor, current)
            if readable is not None and part not in readable and part not in ("id", "name"):
                return False
            f = current.fields.get(part)
            if f is not None and f.target:
                current = self.model.entities[f.target]
        return True

    def _keep(self, path: str | None, name: str) -> bool:
        if path is None or self.visible(path):
            return True
        self.hidden.append(name)
        return False

    # -- pieces -----------------------------------------------------------------------

    def field_at(self, path: str) -> Field:
        found = walk(self.model, self.entity, path)
        if isinstance(found, str):
            raise ValidationError([FieldProblem(path, found, "unknown_field")])
        return found[1]

    def key_expr(self, group: Group) -> tuple[Any, Field]:
        f = self.field_at(group.path)
        owner, _, col = self.compiler.resolve(group.path, group.name)
        if group.bucket:
            stored = self._bucket_column(owner, f, group.bucket, col)
            col = stored if stored is not None else buckets.bucket(
                col, group.bucket, field_type=f.type, dialect=self.dialect, tz=self.tz)
        return col, f

    def _bucket_column(self, owner: Entity, f: Field, unit: str, col: Any) -> Any:
        """The stored bucket column of a datetime (same values as the expression), if
        ``yiti migrate`` made one for a declared report (:mod:`.statistics`)."""
        if self.dialect != "postgresql" or f.type != "datetime" or not self.bucket_columns:
            return None
        name = bucket_column(self.site.metadata, owner.table_name, f.name, unit, self.tz)
        if (owner.table_name, name) not in self.bucket_columns:
            return None
        quote = self.site.engine.dialect.identifier_preparer.quote
        return literal_column(f"{quote(col.table.name)}.{quote(name)}", type_=Date)

    def conditions(self) -> tuple[list[ColumnElement[bool]], list[tuple[str, str, Any]]]:
        """The WHERE conditions, and the same filters as data (for drill-down)."""
        used: list[tuple[str, str, Any]] = []
        for flt in self.report.filters:
            if flt.param is not None:
                value = self.params.get(flt.param)
                if value is None or not self.visible(flt.path):
                    continue  # an empty (or hidden) parameter filters nothing
            else:
                value = flt.value
            used.append(self._day_bounds(flt.path, flt.op, value))
        used.extend(self.extra_filters)
        conds = [self.compiler.condition(path, op, _plain(value), f"filters[{i}]")
                 for i, (path, op, value) in enumerate(used)]
        row_rule = self.policy.row_filter(self.actor, self.entity, self.compiler.base)
        if row_rule is not None:
            conds.append(row_rule)
        return conds, used

    def _day_bounds(self, path: str, op: str, value: Any) -> tuple[str, str, Any]:
        """A date compared with a datetime field means that day in the site's time zone:
        ``>= d`` from its midnight, ``<= d`` until the next midnight."""
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime) or \
                through_lines(self.entity, path) or self.field_at(path).type != "datetime":
            return path, op, value
        zone = ZoneInfo(self.tz)
        if op in ("<=", ">"):
            value = value + dt.timedelta(days=1)
            op = {"<=": "<", ">": ">="}[op]
        return path, op, dt.datetime.combine(value, dt.time(), zone)

    def aggregate(self, m: Measure, arg: Any, f: Field | None, when: Any = None) -> Any:
        """``m.agg`` over ``arg`` (a column), only over rows where ``when`` holds."""
        if when is not None:
            arg = case((when, arg if arg is not None else literal(1)))
        if m.agg == "count":
            return func.count(arg) if arg is not None else func.count()
        if m.agg == "count_distinct":
            return func.count(distinct(arg))
        if m.agg == "avg":
            scale = _scale(f) + AVG_EXTRA_SCALE
            out_type = ExactDecimal(38, scale)
            if self.dialect == "sqlite":  # scaled integers: exact integer division
                total = type_coerce(func.sum(arg), BigInteger) * (10 ** AVG_EXTRA_SCALE)
                return type_coerce(total // func.count(arg), out_type)
            return type_coerce(func.trunc(func.avg(arg), scale), out_type)
        out = {"sum": func.sum, "min": func.min, "max": func.max}[m.agg](arg)
        if m.agg == "sum" and f is not None and f.type == "integer" and \
                self.dialect == "postgresql":
            return cast(out, BigInteger)  # sum(bigint) is numeric there
        return out

    def line_measures(self, measures: list[Measure]) -> dict[str, Any]:
        """Measures over the parent's lines: one pre-aggregated subquery per table field,
        outer-joined on the parent's id; returns measure name → the per-parent column."""
        by_table: dict[str, list[Measure]] = {}
        for m in measures:
            by_table.setdefault((m.path or "").split(".")[0], []).append(m)
        out: dict[str, Any] = {}
        for table_field, items in by_table.items():
            child = self.model.entities[self.entity.fields[table_field].target or ""]
            inner = Compiler(self.model, child, self.site.tables,
                             join_filter=lambda e, alias: self.policy.row_filter(
                                 self.actor, e, alias))
            cols = []
            for m in items:
                rest = (m.path or "").split(".", 1)[1]
                _, f, col = inner.resolve(rest, m.name)
                agg = {"sum": func.sum, "min": func.min, "max": func.max,
                       "count": func.count}[m.agg]
                cols.append(agg(col).label(m.name))
            pid = inner.base.c.parent_id
            sub = (select(pid.label("pid"), *cols).select_from(inner.source)
                   .group_by(pid).subquery(f"lines_{table_field}"))
            self.compiler.source = self.compiler.source.outerjoin(
                sub, sub.c.pid == self.compiler.base.c.id)
            for m in items:
                out[m.name] = sub.c[m.name]
        return out

    # -- the query ----------------------------------------------------------------------

    def compile(self, pivot_values: list[Any] | None = None) -> Compiled:
        if self.report.is_detail:
            return self._detail()
        report = self.report
        groups = [g for g in report.groups if self._keep(g.path, g.name)]
        measures = [m for m in report.measures if self._keep(m.path, m.name)]
        if not measures:
            raise ValidationError([FieldProblem("measures", "you may not read the fields "
                                                "of any measure of this report", "hidden")])
        pivot = report.pivot if report.pivot and self._keep(report.pivot.group.path,
                                                              report.pivot.group.name) else None
        keys = [self.key_expr(g) for g in groups]
        pivot_expr = self.key_expr(pivot.group) if pivot else None
        plain = [m for m in measures if not (m.path and through_lines(self.entity, m.path))]
        args: dict[str, tuple[Any, Field | None]] = {}
        for m in plain:
            if m.path is None:
                args[m.name] = (None, None)
            else:
                _, f, col = self.compiler.resolve(m.path, m.name)
                args[m.name] = (col, f)
        conds, used = self.conditions()
        lines = self.line_measures([m for m in measures if m not in plain])
        columns: list[OutColumn] = []
        exprs: list[Any] = []

        def add(out: OutColumn, expr: Any) -> None:
            out.key = f"c{len(columns)}"
            columns.append(out)
            exprs.append(expr)

        group_cols = []
        for g, (col, f) in zip(groups, keys, strict=True):
            out = OutColumn("", g.name, "group", g.label or f.label, f, g.path, g.bucket)
            add(out, col)
            group_cols.append(out)
        pivot_col = None
        if pivot is not None and pivot_expr is not None:
            g = pivot.group
            pivot_col = OutColumn("", g.name, "pivot", g.label or pivot_expr[1].label,
                                  pivot_expr[1], g.path, g.bucket)
            pivot_values = list(pivot.values if pivot.values is not None
                                else (pivot_values or []))

        def measure_expr(m: Measure, when: Any = None) -> Any:
            if m.name in lines:  # per-parent partial aggregates, combined
                col = lines[m.name]
                if when is not None:
                    col = case((when, col))
                if m.agg == "count":
                    return func.coalesce(func.sum(col), 0)
                return {"sum": func.sum, "min": func.min, "max": func.max}[m.agg](col)
            arg, f = args[m.name]
            return self.aggregate(m, arg, f, when)

        def measure_field(m: Measure) -> Field | None:
            return None if m.path is None else self.field_at(m.path)

        if pivot_col is not None and pivot_expr is not None:
            for i, value in enumerate(pivot_values or []):
                when = pivot_expr[0].is_(None) if value is None else pivot_expr[0] == _plain(value)
                for m in measures:
                    add(OutColumn("", m.name, "measure", m.label or _measure_label(m),
                                  measure_field(m), m.path, agg=m.agg, pivot_index=i),
                        measure_expr(m, when))
        if pivot_col is None or report.totals:
            for m in measures:
                add(OutColumn("", m.name, "measure", m.label or _measure_label(m),
                              measure_field(m), m.path, agg=m.agg), measure_expr(m))
        where = and_(true(), *conds)
        source = self.compiler.source
        key_exprs = [exprs[columns.index(c)] for c in group_cols]
        sets = [list(range(len(group_cols)))]
        if report.subtotals and report.limit is None:
            sets += [list(range(n)) for n in range(len(group_cols) - 1, 0, -1)]
        wants_total = (report.totals or report.subtotals) and bool(group_cols)
        if wants_total and report.limit is None:
            sets.append([])
        flags = [f"t{i}" for i in range(len(group_cols))]
        labelled = [e.label(c.key) for e, c in zip(exprs, columns, strict=True)]
        if len(sets) == 1:
            query = select(*labelled, *[literal(0, Integer).label(f) for f in flags])
            query = query.select_from(source).where(where)
            if key_exprs:
                query = query.group_by(*key_exprs)
        elif self.dialect == "postgresql":
            if report.subtotals:
                grouping = func.rollup(*key_exprs)
            else:
                grouping = func.grouping_sets(*[tuple_(*[key_exprs[i] for i in s]) for s in sets])
            query = (select(*labelled, *[func.grouping(k).label(f)
                                         for k, f in zip(key_exprs, flags, strict=True)])
                     .select_from(source).where(where).group_by(grouping))
        else:
            parts = []
            for s in sets:
                cols = []
                for e, c in zip(exprs, columns, strict=True):
                    rolled = c in group_cols and group_cols.index(c) not in s
                    cols.append((literal(None, e.type) if rolled else e).label(c.key))
                marks = [literal(0 if i in s else 1, Integer).label(f)
                         for i, f in enumerate(flags)]
                part = select(*cols, *marks).select_from(source).where(where)
                if s:
                    part = part.group_by(*[key_exprs[i] for i in s])
                parts.append(part)
            query = union_all(*parts)
        query = query.order_by(*self._order(columns, group_cols, flags, len(sets) > 1))
        totals_query = None
        if report.limit is not None:
            query = query.limit(min(report.limit, MAX_LIMIT))
            if wants_total:
                totals_query = (select(*[e.label(c.key) for e, c in zip(exprs, columns, strict=True)
                                         if c not in group_cols])
                                .select_from(source).where(where))
        return Compiled(report, self.entity, columns, query, group_cols, flags, used,
                        self.hidden, pivot_col, list(pivot_values or []), totals_query)

    def pivot_values_query(self) -> Any:
        """A first query: the pivot key's distinct values (at most ``pivot.limit + 1``)."""
        pivot = self.report.pivot
        assert pivot is not None
        expr, _ = self.key_expr(pivot.group)
        conds, _ = self.conditions()
        return (select(expr.label("v")).select_from(self.compiler.source)
                .where(and_(true(), *conds)).group_by(expr).order_by(expr)
                .limit(pivot.limit + 1))

    def _order(self, columns: list[OutColumn], groups: list[OutColumn], flags: list[str],
               rolled: bool) -> list[Any]:
        by_name = {}
        for c in columns:
            if c.pivot_index is None:
                by_name.setdefault(c.name, c.key)
        keys: list[Any] = []
        if rolled and self.report.subtotals:
            for i, g in enumerate(groups[:-1]):
                keys += [literal_column(flags[i]), literal_column(g.key)]
            keys.append(literal_column(flags[-1]))
        elif rolled:
            keys.append(literal_column(flags[0]))
        for key in self.report.sort or [g.name for g in groups]:
            name = key.lstrip("-")
            if name in by_name:
                col = literal_column(by_name[name])
                keys.append(col.desc() if key.startswith("-") else col.asc())
        return keys

    def _detail(self) -> Compiled:
        report = self.report
        columns: list[OutColumn] = []
        exprs = []
        for c in report.columns:
            if not self._keep(c.path, c.name):
                continue
            col, f = self.key_expr(c)
            out = OutColumn(f"c{len(columns)}", c.name, "column", c.label or f.label, f,
                            c.path, c.bucket)
            columns.append(out)
            exprs.append(col.label(out.key))
        conds, used = self.conditions()
        base = self.compiler.base
        query = (select(base.c.id.label("_id"), *exprs).select_from(self.compiler.source)
                 .where(and_(true(), *conds)))
        by_name = {c.name: c.key for c in columns}
        order = []
        for key in report.sort:
            if key.lstrip("-") in by_name:
                col = literal_column(by_name[key.lstrip("-")])
                order.append(col.desc() if key.startswith("-") else col.asc())
        query = query.order_by(*order, base.c.id).limit(min(report.limit or DETAIL_LIMIT,
                                                            MAX_LIMIT))
        return Compiled(report, self.entity, columns, query, [], [], used, self.hidden)


def _measure_label(m: Measure) -> Label:
    words = {"count": "Count", "count_distinct": "Distinct", "sum": "Sum", "avg": "Average",
             "min": "Min", "max": "Max"}
    return {"en": f"{words[m.agg]} {m.path}" if m.path else words[m.agg]}


def _plain(value: Any) -> Any:
    """Values as the list compiler parses them (it takes dates and numbers as given)."""
    return value
