"""Engine parts that register something when imported: kinds of definition files
(``register_kind``) and engine-owned tables (``@system_table``).

Imported before any pack is loaded and before the tables are built — by the site, by
``yiti check`` and by the test helpers — so every process knows the same kinds and tables
(a table missing from one process would look like a "drop table" to its migration).
"""

from __future__ import annotations

import importlib

ENGINE_PARTS = (
    "yiti.permissions",
    "yiti.automation",
    "yiti.jobs",
    "yiti.web.ui.saved_views",
    "yiti.web.ui.import_job",
    "yiti.reports",
    "yiti.workflow",
)


def register_all() -> None:
    for module in ENGINE_PARTS:
        importlib.import_module(module)
