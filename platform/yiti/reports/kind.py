"""The ``reports`` and ``dashboards`` kinds of definition file.

Registered with the definitions loader when :mod:`yiti.reports` is imported, so that
``yiti check`` checks more than the schema: every field path, bucket, measure, sort key,
chart key and parameter of a report, and every report and KPI a dashboard names.
"""

from __future__ import annotations

from typing import Any

from yiti.definitions.build import Build, Item
from yiti.definitions.kinds import Kind, check_entity, register_kind
from yiti.definitions.model import Definition, Model
from yiti.errors import did_you_mean
from yiti.reports import spec


def _model(build: Build) -> Model:
    """The entities resolved so far, as a model the path checks can walk."""
    return Model(modules=build.modules, entities=build.entities)


def check_report(build: Build, definition: Definition, item: Item) -> None:
    check_entity(build, definition, item)
    if definition.entity not in build.entities:
        return  # unknown (reported above) or broken (reported where it is defined)
    report = spec.read(definition.name, definition.body, definition.module)
    for at, message in spec.problems(_model(build), report):
        build.add(item.source.error(at, message))


def check_dashboard(build: Build, definition: Definition, item: Item) -> None:
    reports = build.definitions.get("reports", {})
    model = _model(build)
    for i, widget in enumerate(definition.body.get("widgets") or ()):
        if "report" in widget:
            if widget["report"] not in reports:
                build.add(item.source.error(("widgets", i, "report"),
                                            f"unknown report {widget['report']!r}",
                                            did_you_mean(widget["report"], reports)))
            continue
        entity = build.entities.get(widget["entity"])
        if entity is None:
            if not build.knows_entity(widget["entity"]):
                build.add(item.source.error(("widgets", i, "entity"),
                                            f"unknown entity {widget['entity']!r}",
                                            did_you_mean(widget["entity"], build.entity_names())))
            continue
        paths: list[tuple[tuple[Any, ...], str]] = [(("widgets", i, "date"), widget["date"])]
        if widget["measure"].get("field"):
            paths.append((("widgets", i, "measure", "field"), widget["measure"]["field"]))
        for j, flt in enumerate(widget.get("filters") or ()):
            paths.append((("widgets", i, "filters", j), str(flt[0])))
        for at, path in paths:
            found = spec.walk(model, entity, path)
            if isinstance(found, str):
                build.add(item.source.error(at, found))
            elif at[-1] == "date" and found[1].type not in ("date", "datetime"):
                build.add(item.source.error(at, f"{path!r} is a {found[1].type}, not a date"))
            elif at[-2] == "filters":
                flt = widget["filters"][at[-1]]
                op, value = ("=", flt[1]) if len(flt) == 2 else (flt[1], flt[2])
                problem = (spec.filter_value_problem(found[1], path, op, value)
                           if op in spec.OPERATORS else f"unknown operator {op!r}")
                if problem:
                    build.add(item.source.error(at, problem))


REPORTS = register_kind(Kind("report", "reports", "report.schema.json", check=check_report,
                             attr="reports"))
DASHBOARDS = register_kind(Kind("dashboard", "dashboards", "dashboard.schema.json",
                                check=check_dashboard))
