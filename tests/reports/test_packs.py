"""Every report and dashboard the installed packs ship compiles, runs and checks clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiti.definitions import build_model
from yiti.errors import ValidationError
from yiti.permissions.policy import SYSTEM
from yiti.reports import kpi, reports_for, run_report, spec
from yiti.site import Site
from yiti.testing import PROJECT_ROOT, settings_for


def test_pack_reports_and_dashboards_run(db_url: str, tmp_path: Path) -> None:
    _, problems = build_model([PROJECT_ROOT / "modules"])
    assert problems == []
    site = Site(settings_for(db_url, tmp_path))
    try:
        site.migrate()
        reports = reports_for(site, SYSTEM)
        assert {"loans_by_month", "loans_by_group", "top_items"} <= {r.name for r in reports}
        for report in reports:
            result = run_report(site, SYSTEM, report, {})
            assert result.columns, report.name
        for dashboard in site.model.extra["dashboards"].values():
            for widget in dashboard.body["widgets"]:
                if "kpi" in widget:
                    kpi(site, SYSTEM, widget)
    finally:
        site.close()


def overlay_problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    """What checking the example pack finds with ``files`` (path → text) in its overlay."""
    overlay = tmp_path / "overlay"
    for path, content in files.items():
        (overlay / path).parent.mkdir(parents=True, exist_ok=True)
        (overlay / path).write_text(content)
    _, problems = build_model([PROJECT_ROOT / "modules"], packs=["example"], overlay=overlay)
    return [str(p) for p in problems]


def test_check_reports_problems_at_their_lines(tmp_path: Path) -> None:
    text = "\n".join(overlay_problems(tmp_path, {
        "reports/bad.yaml": "report: bad\nentity: loan_line\n"
        "group_by:\n  - {field: parent.loan_dat, bucket: month}\n  - item.kind\n"
        "measures:\n  - {agg: sum, field: item.kind}\n"
        "chart: {type: bar, x: nothing}\n",
        "dashboards/d.yaml": "dashboard: d\nwidgets:\n  - {report: nope}\n"}))
    assert "bad.yaml:4: group_by[0]: unknown field 'loan_dat' of 'loan' (did you mean 'loan_date'?)" in text
    assert "bad.yaml:7: measures[0].agg: sum needs a number; 'item.kind' is a select" in text
    assert "chart.x: unknown group 'nothing'" in text
    assert "d.yaml:3: widgets[0].report: unknown report 'nope'" in text


def test_check_refuses_a_fixed_filter_value_no_run_would_take(tmp_path: Path) -> None:
    # docstatus holds draft / submitted / cancelled, not 0 / 1 / 2: the report and the
    # card would answer 422 on every run, so `yiti check` says so and names the values.
    problems = overlay_problems(tmp_path, {
        "reports/submitted.yaml": "report: submitted\nentity: loan\n"
        "filters:\n  - [docstatus, '=', 1]\n  - [docstatus, in, [submited]]\n"
        "  - [loan_date, '>=', 2026-01-01]\n  - [docstatus, '=', submitted]\n"
        "group_by: [loan_date]\nmeasures: [{agg: count}]\n",
        "dashboards/d.yaml": "dashboard: d\nwidgets:\n"
        "  - {kpi: n, entity: loan, measure: {agg: count}, date: loan_date, "
        "filters: [[docstatus, 2]]}\n"})
    text = "\n".join(problems)
    assert ("submitted.yaml:4: filters[0]: docstatus 1 is not an option "
            "(choose from draft, submitted, cancelled)") in text
    assert ("submitted.yaml:5: filters[1]: docstatus 'submited' is not an option; "
            "did you mean 'submitted'?") in text
    assert ("d.yaml:3: widgets[0].filters[0]: docstatus 2 is not an option "
            "(choose from draft, submitted, cancelled)") in text
    assert len(problems) == 3, text


def test_a_docstatus_filter_that_is_no_option_names_the_options(db_url: str,
                                                                 tmp_path: Path) -> None:
    site = Site(settings_for(db_url, tmp_path))
    try:
        site.migrate()
        report = spec.read("r", {"entity": "loan", "filters": [["docstatus", "=", 1]],
                                 "group_by": ["loan_date"], "measures": [{"agg": "count"}]})
        with pytest.raises(ValidationError) as refused:
            run_report(site, SYSTEM, report, {})
        assert refused.value.problems[0].to_dict() == {
            "field": "filters[0]", "code": "type",
            "message": "docstatus 1 is not an option (choose from draft, submitted, cancelled)"}
        # A hook's or the API's list filter is parsed the same way.
        with pytest.raises(ValidationError, match="choose from draft, submitted, cancelled"):
            site.records().list("loan", filters=[("docstatus", "=", 1)])
        assert site.records().list("loan", filters=[("docstatus", "=", "submitted")]).rows == []
    finally:
        site.close()
