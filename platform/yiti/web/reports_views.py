"""Reports and dashboards in the browser: ``/reports`` and ``/dashboards``.

Register with ``"yiti.web.reports_views:init_app"`` in :data:`yiti.web.app.BLUEPRINTS`
(after the UI, whose theme, assets and error page these pages use). Views are thin: they
read parameters, call :func:`yiti.reports.run_report` with the signed-in actor and render.

- ``/reports``: the reports and dashboards the user may see, and the builder;
- ``/reports/<name>``: parameters, table (drill-down links in every cell), chart;
  ``.json``, ``/export.csv``, ``/export.xlsx`` and ``/print`` of the same;
- ``/dashboards/<name>``: KPI cards and charts, each refreshed in place by htmx.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from yiti.definitions.model import Field, label_text
from yiti.errors import NotFound, ValidationError, YitiError
from yiti.reports import dashboards_for, kpi, report_of, reports_for, run_report
from yiti.reports.compile import OutColumn
from yiti.reports.export import option_label, to_csv, to_xlsx
from yiti.reports.params import as_text, param_field
from yiti.reports.run import Result, Row
from yiti.reports.spec import walk
from yiti.web.api.problems import from_error, from_http
from yiti.web.ui import present
from yiti.web.ui.context import SignInRequired, current_actor, site
from yiti.web.ui.i18n import current_language, gettext

bp = Blueprint("reports", __name__)


def init_app(app: Flask) -> None:
    from yiti.web import reports_builder  # noqa: F401  (its routes)

    app.register_blueprint(bp)


@bp.errorhandler(SignInRequired)
def _sign_in(error: SignInRequired) -> Any:
    manager = getattr(current_app, "login_manager", None)
    if manager is not None:
        return manager.unauthorized()
    abort(401)


@bp.errorhandler(YitiError)
def _error(error: YitiError) -> Any:
    if request.path.endswith(".json"):  # for programs: the API's problem, one shape
        return from_error(error)
    return render_template("ui/error.html", message=gettext("This report cannot be shown."),
                           detail=_describe(error)), error.status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    if request.path.endswith(".json"):  # a refusal (403 of save.json) in the same shape
        return from_http(error)
    return error


def _describe(error: YitiError) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(f"{p.field}: {p.message}" for p in error.problems)
    return error.message


# -- presenting results -----------------------------------------------------------------

def cell_text(column: OutColumn, value: Any, lang: str) -> str:
    """A cell as people read it."""
    shown = option_label(column, value, lang)
    if shown is None:
        return ""
    if isinstance(shown, bool):
        return gettext("Yes") if shown else gettext("No")
    if isinstance(shown, (int, Decimal)):
        return number_text(shown, lang, column.field, column.agg)
    if isinstance(shown, dt.datetime):  # as every screen shows a time: the site's zone
        return present.moment(shown, lang=lang, tz=site().settings.timezone)
    if isinstance(shown, dt.date):
        return shown.isoformat()
    return str(shown)


def number_text(value: int | Decimal, lang: str, field: Field | None = None,
                agg: str | None = None) -> str:
    """A number of a report or a KPI card as people read it: an amount of a money field
    (its sum, average, least or most) as lists show money (``¥800.00``), others plain."""
    if (field is not None and field.type == "money" and agg not in ("count", "count_distinct")
            and not field.currency_field):
        # a currency read from another field differs row by row: a sum of it gets no symbol
        return present.display(field, value, lang=lang, tz=site().settings.timezone,
                               currency=present.currency_of(field, None,
                                                            site().settings.currency))
    from babel import numbers

    return numbers.format_decimal(value, locale=lang.replace("-", "_"),
                                  decimal_quantization=False)


def drill_urls(result: Result, row: Row, column: OutColumn | None = None) -> str:
    """The API list of the records behind a cell (every filter, exactly)."""
    entity, filters = result.drill(row, column)
    if "api.collection" not in current_app.view_functions:
        return ""
    return url_for("api.collection", entity=entity) + "?" + urlencode(
        {"filters": json.dumps(filters, ensure_ascii=False, default=str)})


def drill_url(result: Result, row: Row, column: OutColumn | None = None) -> str:
    """The generated list page filtered to the records behind a cell, when the list can
    say the same filters; otherwise the API list, which takes any filter."""
    entity, filters = result.drill(row, column)
    args: dict[str, str] = {}
    ok = True
    for path, op, value in filters:
        if op == "=":
            args[f"f.{path}"] = str(value)
        elif op == ">=":
            args[f"f.{path}.from"] = str(value)[:19].replace("+", "")
        elif op == "<" and isinstance(value, str) and len(value) == 10:
            day = dt.date.fromisoformat(value) - dt.timedelta(days=1)
            args[f"f.{path}.to"] = day.isoformat()
        else:
            ok = False
    if ok and _list_filters_all(entity, [p for p, _, _ in filters]):
        return url_for("ui.list_view", entity=entity) + "?" + urlencode(args)
    return drill_urls(result, row, column)


def _list_filters_all(entity: str, paths: list[str]) -> bool:
    """Whether the generated list of ``entity`` filters on every one of ``paths``."""
    try:
        from yiti.web.ui.screens import list_spec

        spec = list_spec(site().model, site().model.entities[entity])
    except Exception:  # noqa: BLE001 - no UI, or no such list: use the API
        return False
    known = {c.path for c in [*spec.filters, *spec.columns]}
    return all(p in known for p in paths) and "ui.list_view" in current_app.view_functions


def chart_data(result: Result, lang: str) -> dict[str, Any] | None:
    """What the browser needs to draw the report's chart with ECharts (no code, data)."""
    chart = result.report.chart
    if chart is None or not result.groups:
        return None
    groups = {g.name: g for g in result.groups}
    x = groups.get(chart.x or result.groups[0].name)
    if x is None:
        return None
    series_key = groups.get(chart.series) if chart.series else None
    measures = [c for c in result.columns if c.kind == "measure" and c.pivot_index is None
                and (not chart.y or c.name in chart.y)]
    if not measures:  # a pivot without totals: its columns are the series
        measures = [c for c in result.columns if c.kind == "measure"
                    and (not chart.y or c.name in chart.y)]
    rows = [r for r in result.rows if r.kind == "detail"]
    categories: list[str] = []
    for r in rows:
        text = cell_text(x, r.values[x.key], lang)
        if text not in categories:
            categories.append(text)
    series = []
    if series_key is not None:
        m = measures[0]
        names: dict[str, dict[str, Any]] = {}
        for r in rows:
            name = cell_text(series_key, r.values[series_key.key], lang)
            names.setdefault(name, {})[cell_text(x, r.values[x.key], lang)] = _num(
                r.values[m.key])
        series = [{"name": n, "data": [v.get(c) for c in categories]} for n, v in names.items()]
    else:
        for m in measures:
            by_x = {cell_text(x, r.values[x.key], lang): _num(r.values[m.key]) for r in rows}
            series.append({"name": str(label_text(result.header(m), lang)),
                           "data": [by_x.get(c) for c in categories]})
    return {"type": chart.type, "categories": categories, "series": series,
            "title": label_text(result.report.label, lang)}


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def result_json(result: Result, lang: str) -> dict[str, Any]:
    columns = [{"key": c.key, "name": c.name, "kind": c.kind,
                "label": str(label_text(result.header(c), lang)), "agg": c.agg}
               for c in result.columns]
    rows = []
    for row in result.rows:
        rows.append({"kind": row.kind, "level": row.level,
                     "values": {c.name if c.pivot_index is None else c.key:
                                _jsonable(row.values[c.key]) for c in result.columns},
                     "drill": drill_urls(result, row)})
    return {"report": result.report.name, "label": label_text(result.report.label, lang),
            "params": {k: as_text(v) for k, v in result.params.items()},
            "columns": columns, "rows": rows, "hidden": result.hidden,
            "pivot_values": [_jsonable(v) for v in result.pivot_values],
            "chart": chart_data(result, lang)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def param_args() -> dict[str, str]:
    return {k[2:]: v for k, v in request.args.items() if k.startswith("p.")}


def _run(name: str) -> Result:
    actor = current_actor()
    report = report_of(site(), name, actor)
    return run_report(site(), actor, report, param_args())


def param_input(param: Any, value: Any) -> str:
    """A parameter's value as its input holds it: a datetime as the wall-clock time of
    the site's zone, as every form's datetime input (``present.input_value``), which the
    parameter reads back in that zone."""
    return present.input_value(param_field(param, site().model), value,
                               tz=site().settings.timezone)


def link_choices(result: Result) -> dict[str, list[tuple[int, str]]]:
    """Records offered by link parameters (the first 200 the user may see)."""
    from yiti.web.ui.context import records, titled

    recs = records()
    out: dict[str, list[tuple[int, str]]] = {}
    for p in result.report.params:
        if p.type == "link" and p.target:
            entity = site().model.entities[p.target]
            try:
                page = recs.list(p.target, limit=200)
            except YitiError:
                continue
            out[p.name] = list(zip((r["id"] for r in page.rows),
                                   titled(recs, entity, page.rows), strict=True))
    return out


def option_labels(result: Result, lang: str) -> dict[str, dict[str, str]]:
    """Each select parameter's option values → what the form shows for them: the label,
    in ``lang``, of that option of the select field the parameter filters (the report's
    filter naming it), else the value itself. The value is what the form submits."""
    model = site().model
    out: dict[str, dict[str, str]] = {}
    for p in result.report.params:
        if p.type != "select":
            continue
        labels: dict[str, str] = {}
        for f in result.report.filters:
            found = walk(model, result.entity, f.path) if f.param == p.name else None
            if isinstance(found, tuple) and found[1].type == "select":
                for option in found[1].options:
                    labels.setdefault(str(option.value), label_text(option.label, lang))
        out[p.name] = {o: labels.get(o) or o for o in p.options}
    return out


def link_titles(result: Result) -> dict[str, dict[str, str]]:
    """Each link parameter's value → the title of the record it names, as the printout
    shows it (the value itself when the user may not see that record)."""
    from yiti.web.ui.context import record_heading, records

    recs = records()
    out: dict[str, dict[str, str]] = {}
    for p in result.report.params:
        value = result.params.get(p.name)
        if p.type != "link" or not p.target or value is None:
            continue
        try:
            record = recs.get(p.target, value)
        except YitiError:
            continue
        out[p.name] = {as_text(value): record_heading(recs, site().model.entities[p.target],
                                                      record)}
    return out


# -- pages -----------------------------------------------------------------------------

@bp.get("/reports")
def index() -> str:
    actor = current_actor()
    return render_template("reports/index.html", reports=reports_for(site(), actor),
                           dashboards=dashboards_for(site(), actor))


@bp.get("/reports/<name>")
def show(name: str) -> str:
    result = _run(name)
    lang = current_language()
    return render_template("reports/show.html", result=result, chart=chart_data(result, lang),
                           cell_text=cell_text, drill_url=drill_url, as_text=as_text,
                           links=link_choices(result), options=option_labels(result, lang),
                           param_input=param_input,
                           query=request.query_string.decode(), printing=False)


@bp.get("/reports/<name>/print")
def printable(name: str) -> str:
    result = _run(name)
    lang = current_language()
    return render_template("reports/print.html", result=result, chart=chart_data(result, lang),
                           cell_text=cell_text, drill_url=drill_url, as_text=as_text,
                           options={**option_labels(result, lang), **link_titles(result)},
                           printed_at=dt.datetime.now(dt.UTC), printing=True)


@bp.get("/reports/<name>.json")
def as_json(name: str) -> Response:
    response = current_app.json.response(result_json(_run(name), current_language()))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _download(data: bytes, name: str, ext: str, mimetype: str) -> Response:
    # named by the site's clock, as the list exports are
    stamp = present.local_time(dt.datetime.now(dt.UTC), site().settings.timezone
                               ).strftime("%Y%m%d-%H%M")
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.{ext}"',
        "Cache-Control": "private, no-store"})


def _export_check(result: Result) -> None:
    site().policy.check(current_actor(), result.entity, "export", None)


@bp.get("/reports/<name>/export.csv")
def export_csv(name: str) -> Response:
    result = _run(name)
    _export_check(result)
    return _download(to_csv(result, current_language()), name, "csv", "text/csv")


@bp.get("/reports/<name>/export.xlsx")
def export_xlsx(name: str) -> Response:
    result = _run(name)
    _export_check(result)
    return _download(to_xlsx(result, current_language()), name, "xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# -- dashboards --------------------------------------------------------------------------

def _dashboard(name: str) -> Any:
    for d in dashboards_for(site(), current_actor()):
        if d.name == name:
            return d
    raise NotFound(f"dashboard {name!r} not found")


@bp.get("/dashboards/<name>")
def dashboard(name: str) -> str:
    d = _dashboard(name)
    return render_template("reports/dashboard.html", dashboard=d,
                           widgets=list(enumerate(d.body.get("widgets") or ())),
                           refresh=int(d.body.get("refresh") or 60))


@bp.get("/dashboards/<name>/widgets/<int:index>")
def widget(name: str, index: int) -> str:
    """One widget's content: the partial htmx swaps in, on load and every ``refresh``."""
    d = _dashboard(name)
    widgets = d.body.get("widgets") or ()
    if not 0 <= index < len(widgets):
        abort(404)
    spec = widgets[index]
    lang = current_language()
    if "kpi" in spec:
        card = kpi(site(), current_actor(), spec)
        return render_template("reports/_kpi.html", card=card, spec=spec, lang=lang,
                               number_text=number_text, agg=spec["measure"]["agg"])
    actor = current_actor()
    try:
        report = report_of(site(), spec["report"], actor)
        result = run_report(site(), actor, report, spec.get("params") or {})
    except (NotFound, ValidationError) as error:
        return render_template("reports/_widget_error.html", message=_describe(error))
    chart = chart_data(result, lang) if spec.get("show", "chart") == "chart" else None
    return render_template("reports/_widget.html", result=result, chart=chart, spec=spec,
                           cell_text=cell_text, drill_url=drill_url)
