"""The ad-hoc report builder: ``/reports/builder``.

An analyst picks the entity, group keys (with date buckets), a pivot, measures, filters
and a chart; the preview re-runs on every change (htmx posts the form, the server
answers with the table and chart, run with the analyst's own permissions). Saving writes
the definition as YAML into the site overlay's ``reports/`` folder
(:func:`yiti.reports.save_report`), where ``yiti check`` validates it like any other.

The same two steps take JSON for scripts: ``POST /reports/builder/preview.json`` and
``POST /reports/builder/save.json`` with a report definition as the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from yiti.definitions.model import Entity, Model, label_text
from yiti.errors import FieldProblem, ValidationError
from yiti.reports import read, run_report, save_report
from yiti.reports.spec import AGGREGATES, BUCKETS, CHARTS, NUMERIC, problems
from yiti.web.reports_views import bp, cell_text, chart_data, drill_url, result_json
from yiti.web.ui.context import current_actor, site
from yiti.web.ui.i18n import current_language

#: Roles that may save a report into the site overlay (any signed-in user may preview:
#: the preview runs with their own permissions).
DESIGNER_ROLES = frozenset({"Administrator", "Analyst", "Report designer"})
OPS = ("=", "!=", "<", "<=", ">", ">=", "like", "is null", "is not null")
ROWS = {"group": 2, "measure": 3, "filter": 3}


def paths(model: Model, entity: Entity) -> list[tuple[str, str, str]]:
    """(path, label, type) the builder offers: the entity's fields, one step along each
    link, the parent's fields from lines, and a parent's line fields (for measures)."""
    lang = current_language()
    out: list[tuple[str, str, str]] = [("name", "Name", "string")] if not entity.child else []

    def add(prefix: str, label: str, e: Entity, depth: int) -> None:
        for f in e.fields.values():
            if f.type in ("json", "attachment", "text"):
                continue
            text = f"{label}{label_text(f.label, lang)}"
            if f.is_table:
                if depth == 0:
                    child = model.entities[f.target or ""]
                    for cf in child.fields.values():
                        if cf.type in NUMERIC:
                            out.append((f"{f.name}.{cf.name}",
                                        f"{text} › {label_text(cf.label, lang)}", "lines"))
                continue
            out.append((prefix + f.name, text, f.type))
            if f.is_link and depth == 0 and f.target:
                add(f"{prefix}{f.name}.", f"{text} › ", model.entities[f.target], 1)

    add("", "", entity, 0)
    if entity.child and entity.parent:
        parent = model.entities[entity.parent]
        add("parent.", f"{label_text(parent.label, lang)} › ", parent, 1)
    out.append(("created_at", "Created at", "datetime"))
    return out


def definition_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """A report definition from the builder's form fields."""
    body: dict[str, Any] = {"report": form.get("name") or "draft",
                            "entity": form.get("entity", "")}
    if form.get("label"):
        body["label"] = form["label"]
    groups = []
    for i in range(ROWS["group"]):
        path = form.get(f"group{i}")
        if path:
            item: dict[str, Any] = {"field": path}
            if form.get(f"bucket{i}"):
                item["bucket"] = form[f"bucket{i}"]
            groups.append(item)
    measures = []
    for i in range(ROWS["measure"]):
        agg = form.get(f"agg{i}")
        if agg:
            item = {"agg": agg, "name": f"m{i}"}
            if form.get(f"measure{i}"):
                item["field"] = form[f"measure{i}"]
            measures.append(item)
    filters = []
    for i in range(ROWS["filter"]):
        path, op = form.get(f"filter{i}"), form.get(f"op{i}") or "="
        if path:
            filters.append([path, op, None if op.startswith("is ") else form.get(f"value{i}", "")])
    if form.get("pivot"):
        body["pivot"] = {"field": form["pivot"], **(
            {"bucket": form["pivot_bucket"]} if form.get("pivot_bucket") else {})}
    if groups:
        body["group_by"] = groups
    if measures:
        body["measures"] = measures
    if filters:
        body["filters"] = filters
    for flag in ("totals", "subtotals"):
        if form.get(flag):
            body[flag] = True
    if form.get("chart") and groups:
        body["chart"] = {"type": form["chart"]}
    if form.get("limit", "").isdigit():
        body["limit"] = int(form["limit"])
    return body


def _check(body: Mapping[str, Any]) -> Any:
    from yiti.definitions.validate import validator

    checker = validator("report.schema.json")
    assert checker is not None
    errors = [FieldProblem(".".join(str(p) for p in e.absolute_path) or "report", e.message,
                           "schema") for e in checker.iter_errors(dict(body))]
    if errors:
        raise ValidationError(errors)
    report = read(str(body["report"]), body, "site")
    issues = problems(site().model, report)
    if issues:
        raise ValidationError([FieldProblem(".".join(str(p) for p in at), message, "invalid")
                               for at, message in issues])
    return report


def _may_design() -> bool:
    actor = current_actor()
    return actor.system or bool(actor.roles & DESIGNER_ROLES)


@bp.get("/reports/builder")
def builder() -> str:
    model = site().model
    entities = [e for e in model.entities.values()]
    name = request.args.get("entity") or (entities[0].name if entities else "")
    entity = model.entities.get(name)
    if entity is None:
        abort(404)
    return render_template("reports/builder.html", entities=entities, entity=entity,
                           paths=paths(model, entity), aggregates=AGGREGATES, buckets=BUCKETS,
                           charts=CHARTS, ops=OPS, rows=ROWS, may_save=_may_design())


@bp.post("/reports/builder/preview")
def preview() -> str:
    """The live preview (an htmx partial): the table and chart of the form's report."""
    body = definition_from_form(request.form)
    try:
        report = _check(body)
        result = run_report(site(), current_actor(), report, {})
    except ValidationError as error:
        return render_template("reports/_widget_error.html", message="; ".join(
            f"{p.field}: {p.message}" for p in error.problems))
    return render_template("reports/_widget.html", result=result,
                           chart=chart_data(result, current_language()), spec={},
                           cell_text=cell_text, drill_url=drill_url, preview=True)


@bp.post("/reports/builder/save")
def save() -> Response | str:
    if not _may_design():
        abort(403)
    body = definition_from_form(request.form)
    try:
        report = save_report(site(), body)
    except ValidationError as error:
        return render_template("reports/_widget_error.html", message="; ".join(
            f"{p.field}: {p.message}" for p in error.problems)), 422  # type: ignore[return-value]
    target = url_for("reports.show", name=report.name)
    if request.headers.get("HX-Request") == "true":
        response = current_app.make_response("")
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.post("/reports/builder/preview.json")
def preview_json() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError([FieldProblem("body", "must be a report definition (JSON)")])
    body.setdefault("report", "draft")
    report = _check(body)
    params = body.get("params_values") or {}
    return result_json(run_report(site(), current_actor(), report, params), current_language())


@bp.post("/reports/builder/save.json")
def save_json() -> Any:
    if not _may_design():
        abort(403)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError([FieldProblem("body", "must be a report definition (JSON)")])
    report = save_report(site(), body)
    return {"report": report.name, "url": url_for("reports.show", name=report.name)}, 201
