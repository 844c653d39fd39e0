"""Engine parts that add kinds of definition files (``register_kind``) when imported.

Imported before any pack is loaded — by the site and by ``yiti check`` — so that a
pack's files of those kinds are checked and loaded the same way everywhere.
"""

from __future__ import annotations

import importlib

KIND_MODULES = ("yiti.permissions", "yiti.automation")


def register_all() -> None:
    for module in KIND_MODULES:
        importlib.import_module(module)
