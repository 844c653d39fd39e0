"""A report definition read into plain data, and checked against the model.

The YAML (validated first by ``metadata/report.schema.json``) becomes a :class:`Report`:
parameters the user fills in, fixed filters, group keys (fields, optionally bucketed by
date), measures (aggregates), an optional pivot, totals, sort, limit and a chart. The
same reading serves ``yiti check`` (:func:`problems`) and the engine (:func:`read`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yiti.definitions.model import Entity, Field, Label, Model
from yiti.errors import ValidationError, did_you_mean
from yiti.records.query import OPERATORS, Binder, field_of

AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
BUCKETS = ("day", "week", "month", "quarter", "year")
CHARTS = ("bar", "line", "pie", "funnel")
PARAM_TYPES = ("date", "datetime", "select", "link", "string", "integer", "decimal",
               "boolean")
NUMERIC = ("integer", "decimal", "money", "percent")


@dataclass(frozen=True)
class Param:
    """A value the user fills in: ``p.<name>`` in the page's query string."""

    name: str
    type: str
    label: Label
    default: Any = None
    required: bool = False
    options: tuple[str, ...] = ()
    target: str | None = None  # link: the entity


@dataclass(frozen=True)
class Filter:
    """``path op value``, the value fixed or taken from a parameter (skipped when empty)."""

    path: str
    op: str
    value: Any = None
    param: str | None = None


@dataclass(frozen=True)
class Group:
    """A group key: a field path, bucketed by date when ``bucket`` is set."""

    name: str
    path: str
    label: Label | None = None
    bucket: str | None = None


@dataclass(frozen=True)
class Measure:
    """An aggregate: ``agg`` over ``path`` (``count`` needs no path)."""

    name: str
    agg: str
    path: str | None = None
    label: Label | None = None


@dataclass(frozen=True)
class Pivot:
    """Spread a group key across columns; values declared, or found by a first query."""

    group: Group
    values: tuple[Any, ...] | None = None
    limit: int = 24


@dataclass(frozen=True)
class Chart:
    type: str
    x: str | None = None  # a group name (default: the first)
    y: tuple[str, ...] = ()  # measure names (default: all)
    series: str | None = None  # a second group key drawn as series


@dataclass(frozen=True)
class Report:
    name: str
    entity: str
    label: Label
    description: Label = field(default_factory=dict)
    params: tuple[Param, ...] = ()
    filters: tuple[Filter, ...] = ()
    columns: tuple[Group, ...] = ()  # a detail report: no measures, one row per record
    groups: tuple[Group, ...] = ()
    measures: tuple[Measure, ...] = ()
    pivot: Pivot | None = None
    totals: bool = False
    subtotals: bool = False
    sort: tuple[str, ...] = ()
    limit: int | None = None
    chart: Chart | None = None
    roles: tuple[str, ...] = ()
    module: str | None = None

    @property
    def is_detail(self) -> bool:
        return not self.measures


def _label(value: Any) -> Label | None:
    if value is None:
        return None
    return {"en": value} if isinstance(value, str) else dict(value)


def _group(item: Any, used: set[str]) -> Group:
    if isinstance(item, str):
        spec: Mapping[str, Any] = {"field": item}
    else:
        spec = item
    path = str(spec["field"])
    bucket = spec.get("bucket")
    name = spec.get("name") or (f"{path}_{bucket}" if bucket else path).replace(".", "_")
    base, n = name, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return Group(name, path, _label(spec.get("label")), bucket)


def read(name: str, body: Mapping[str, Any], module: str | None = None) -> Report:
    """The :class:`Report` of a definition body that passed its JSON Schema."""
    used: set[str] = set()
    params = tuple(
        Param(n, str(p.get("type", "string")), _label(p.get("label")) or {"en": n},
              p.get("default"), bool(p.get("required", False)),
              tuple(str(o) for o in p.get("options") or ()), p.get("entity"))
        for n, p in (body.get("params") or {}).items())
    filters = []
    for item in body.get("filters") or ():
        if isinstance(item, (list, tuple)):
            path, op, value = (item[0], "=", item[1]) if len(item) == 2 else item
            param = value[1:] if isinstance(value, str) and value.startswith(":") else None
            filters.append(Filter(path, op, None if param else value, param))
        else:
            filters.append(Filter(item["field"], item.get("op", "="), item.get("value"),
                                  item.get("param")))
    groups = tuple(_group(g, used) for g in body.get("group_by") or ())
    columns = tuple(_group(c, used) for c in body.get("columns") or ())
    measures = []
    for m in body.get("measures") or ():
        agg, path = m["agg"], m.get("field")
        mname = m.get("name") or (f"{agg}_{path}".replace(".", "_") if path else agg)
        used.add(mname)
        measures.append(Measure(mname, agg, path, _label(m.get("label"))))
    pivot = None
    if body.get("pivot"):
        p = body["pivot"]
        pivot = Pivot(_group(p, used), tuple(p["values"]) if "values" in p else None,
                      int(p.get("limit", 24)))
    chart = None
    if body.get("chart"):
        c = body["chart"]
        y = c.get("y") or ()
        chart = Chart(c["type"], c.get("x"), tuple([y] if isinstance(y, str) else y),
                      c.get("series"))
    return Report(
        name=name, entity=str(body["entity"]), label=_label(body.get("label")) or {"en": name},
        description=_label(body.get("description")) or {}, params=params,
        filters=tuple(filters), columns=columns, groups=groups, measures=tuple(measures),
        pivot=pivot, totals=bool(body.get("totals", False)),
        subtotals=bool(body.get("subtotals", False)), sort=tuple(body.get("sort") or ()),
        limit=body.get("limit"), chart=chart, roles=tuple(body.get("roles") or ()),
        module=module,
    )


# -- checks against the model ---------------------------------------------------------

def walk(model: Model, entity: Entity, path: str) -> tuple[Entity, Field] | str:
    """The entity and field at the end of ``path``, or why there is none.

    Paths follow link fields (``customer.city``), ``parent.`` from child lines, and
    (first part only) a table field into its lines (``lines.qty``).
    """
    parts = path.split(".")
    current = entity
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "parent" and current.child and not last and current.parent:
            current = model.entities[current.parent]
            continue
        f = field_of(current, part)
        if f is None:
            hint = did_you_mean(part, [*current.fields, "name", "created_at", "id"])
            return f"unknown field {part!r} of {current.name!r}" + (f" ({hint})" if hint else "")
        if last:
            if f.is_table:
                return f"{part!r} is a table of lines; name one of its fields ({part}.qty)"
            return current, f
        if f.is_table and i == 0:
            current = model.entities[f.target or ""]
            continue
        if not f.is_link:
            return f"{'.'.join(parts[:i + 1])!r} is not a link, so it has no fields"
        current = model.entities[f.target or ""]
    raise AssertionError("unreachable")


def filter_value_problem(f: Field, path: str, op: str, value: Any) -> str | None:
    """Why a fixed filter value would be refused on every run (``docstatus = 1``: its
    options are draft, submitted, cancelled), or None. The same parsing as the run's;
    a date compared with a datetime field is left alone (it means that day)."""
    values = value if isinstance(value, list | tuple) else [value]
    if f.type == "datetime" and any(isinstance(v, dt.date) and not isinstance(v, dt.datetime)
                                    for v in values):
        return None
    try:
        Binder(f, op, path, "filters", "value").parse(value)
    except ValidationError as error:
        return "; ".join(p.message for p in error.problems)
    return None


def through_lines(entity: Entity, path: str) -> bool:
    """Whether ``path`` starts with one of ``entity``'s table fields."""
    f = entity.fields.get(path.split(".")[0])
    return f is not None and f.is_table


def problems(model: Model, report: Report) -> list[tuple[tuple[Any, ...], str]]:
    """Everything wrong with ``report`` beyond its schema: (key path, message) each."""
    out: list[tuple[tuple[Any, ...], str]] = []
    entity = model.entities.get(report.entity)
    if entity is None:
        hint = did_you_mean(report.entity, list(model.entities))
        return [(("entity",), f"unknown entity {report.entity!r}" + (f" ({hint})" if hint else ""))]
    params = {p.name: p for p in report.params}

    def check_path(at: tuple[Any, ...], path: str, lines_ok: bool = False) -> Field | None:
        if through_lines(entity, path) and not lines_ok:
            out.append((at, f"{path!r} goes into lines: only measures may (sum of lines)"))
            return None
        found = walk(model, entity, path)
        if isinstance(found, str):
            out.append((at, found))
            return None
        return found[1]

    for p in report.params:
        if p.type == "link" and p.target not in model.entities:
            out.append((("params", p.name, "entity"), f"unknown entity {p.target!r}"))
    for i, flt in enumerate(report.filters):
        if flt.op not in OPERATORS:
            out.append((("filters", i), f"unknown operator {flt.op!r}"
                        + (f" ({did_you_mean(flt.op, OPERATORS)})" if did_you_mean(flt.op, OPERATORS) else "")))
        if flt.param is not None and flt.param not in params:
            out.append((("filters", i), f"unknown parameter {flt.param!r}"
                        + (f" ({did_you_mean(flt.param, params)})" if did_you_mean(flt.param, params) else "")))
        if through_lines(entity, flt.path):
            continue  # records having a line that matches, as lists do
        f = check_path(("filters", i), flt.path)
        if f is not None and flt.param is None and flt.op in OPERATORS:
            problem = filter_value_problem(f, flt.path, flt.op, flt.value)
            if problem:
                out.append((("filters", i), problem))
    for key, items in (("group_by", report.groups), ("columns", report.columns)):
        for i, g in enumerate(items):
            f = check_path((key, i), g.path)
            if f is not None and g.bucket and f.type not in ("date", "datetime"):
                out.append(((key, i, "bucket"), f"{g.path!r} is a {f.type}; only dates and "
                            "datetimes have buckets"))
    if report.pivot is not None:
        f = check_path(("pivot", "field"), report.pivot.group.path)
        if f is not None and report.pivot.group.bucket and f.type not in ("date", "datetime"):
            out.append((("pivot", "bucket"), f"{report.pivot.group.path!r} is not a date"))
    for i, m in enumerate(report.measures):
        if m.path is None:
            if m.agg != "count":
                out.append((("measures", i), f"{m.agg} needs a field"))
            continue
        f = check_path(("measures", i, "field"), m.path, lines_ok=True)
        if f is not None and m.agg in ("sum", "avg") and f.type not in NUMERIC:
            out.append((("measures", i, "agg"), f"{m.agg} needs a number; {m.path!r} is a {f.type}"))
        if through_lines(entity, m.path) and m.agg in ("count_distinct", "avg"):
            out.append((("measures", i, "agg"), f"{m.agg} of lines is not supported from the "
                        "parent; make the lines the report's entity"))
    if report.columns and (report.groups or report.measures):
        out.append((("columns",), "a report lists columns (one row per record) or groups "
                    "with measures, not both"))
    if report.groups and not report.measures:
        out.append((("measures",), "a grouped report needs at least one measure"))
    if report.pivot is not None and not report.measures:
        out.append((("pivot",), "a pivot needs a measure"))
    names = {g.name for g in report.groups} | {m.name for m in report.measures} | {
        c.name for c in report.columns}
    for i, key in enumerate(report.sort):
        if key.lstrip("-") not in names:
            out.append((("sort", i), f"unknown column {key.lstrip('-')!r}"
                        + (f" ({did_you_mean(key.lstrip('-'), names)})" if did_you_mean(key.lstrip('-'), names) else "")))
    if report.chart is not None:
        groups = {g.name for g in report.groups}
        measures = {m.name for m in report.measures}
        for key, value in (("x", report.chart.x), ("series", report.chart.series)):
            if value is not None and value not in groups:
                out.append((("chart", key), f"unknown group {value!r}"))
        for i, y in enumerate(report.chart.y):
            if y not in measures:
                out.append((("chart", "y", i), f"unknown measure {y!r}"))
        if not report.groups:
            out.append((("chart",), "a chart needs a group_by"))
    return out
