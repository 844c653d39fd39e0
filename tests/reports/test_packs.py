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
