"""Every report and dashboard the installed packs ship compiles, runs and checks clean."""

from __future__ import annotations

from pathlib import Path

from yiti.definitions import build_model
from yiti.permissions.policy import SYSTEM
from yiti.reports import kpi, reports_for, run_report
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


def test_check_reports_problems_at_their_lines(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    (overlay / "reports").mkdir(parents=True)
    (overlay / "reports" / "bad.yaml").write_text(
        "report: bad\nentity: loan_line\n"
        "group_by:\n  - {field: parent.loan_dat, bucket: month}\n  - item.kind\n"
        "measures:\n  - {agg: sum, field: item.kind}\n"
        "chart: {type: bar, x: nothing}\n")
    (overlay / "dashboards").mkdir()
    (overlay / "dashboards" / "d.yaml").write_text(
        "dashboard: d\nwidgets:\n  - {report: nope}\n")
    _, problems = build_model([PROJECT_ROOT / "modules"], packs=["example"], overlay=overlay)
    text = "\n".join(str(p) for p in problems)
    assert "bad.yaml:4: group_by[0]: unknown field 'loan_dat' of 'loan' (did you mean 'loan_date'?)" in text
    assert "bad.yaml:7: measures[0].agg: sum needs a number; 'item.kind' is a select" in text
    assert "chart.x: unknown group 'nothing'" in text
    assert "d.yaml:3: widgets[0].report: unknown report 'nope'" in text
