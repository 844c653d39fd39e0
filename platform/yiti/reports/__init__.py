"""Reports and dashboards: definitions compiled to SQL that runs in the database.

Importing this package registers the ``reports`` and ``dashboards`` kinds of definition
file (:mod:`.kind`), and the statistics ``yiti migrate`` keeps for declared reports on
PostgreSQL (:mod:`.statistics`). The engine's surface:

- :func:`report_of` / :func:`reports_for`: the site's reports (packs, the site overlay,
  and the reports analysts saved from the builder), read into :class:`Report`;
- :func:`run_report`: a report run for an actor, a :class:`Result` of rows and totals;
- :func:`kpi`: a KPI card's value and its change against the previous period;
- :mod:`.export`: a result as CSV or XLSX.

See docs/reports.md.
"""

from yiti.reports import kind, statistics  # noqa: F401  (register the kinds, statistics)
from yiti.reports.catalogue import dashboards_for, report_of, reports_for, save_report
from yiti.reports.kpi import Kpi, kpi
from yiti.reports.run import Result, Row, run_report
from yiti.reports.spec import Report, read

__all__ = ["Kpi", "Report", "Result", "Row", "dashboards_for", "kpi", "read", "report_of",
           "reports_for", "run_report", "save_report"]
