"""Administration in the browser: users, permissions and "explain", for Administrators.

Register with ``"yiti.web.admin_ui:init_app"`` in :data:`yiti.web.app.BLUEPRINTS`. The
pages call the same functions as the admin API (:mod:`yiti.permissions.users`,
:mod:`yiti.permissions.overrides`, :func:`yiti.permissions.explain.explain`), so their
checks, and the effect of a change on every path (lists, API, exports), are the same.
"""

from __future__ import annotations

from flask import Flask

from yiti.web.admin_ui.blueprint import bp

__all__ = ["bp", "init_app"]


def init_app(app: Flask) -> None:
    from yiti.web.admin_ui import explain_page, permission_pages, user_pages  # noqa: F401

    app.register_blueprint(bp)
