"""Pages and JSON for jobs, schedules and webhooks (administrators) and notifications (everyone).

Register with ``"yiti.web.admin_jobs:init_app"`` in :data:`yiti.web.app.BLUEPRINTS`.
The bell (``notifications/bell.html``) is a partial any template may include; it shows
the signed-in user's unread count and refreshes itself with htmx.
"""

from __future__ import annotations

from flask import Flask

from yiti.web.admin_jobs.access import current_name, layout
from yiti.web.admin_jobs.jobs import bp as jobs_bp
from yiti.web.admin_jobs.notifications import bp as notifications_bp
from yiti.web.ui.blueprint import when

__all__ = ["init_app", "jobs_bp", "notifications_bp"]


def init_app(app: Flask) -> None:
    from yiti.jobs import install

    install(app.extensions["yiti"])
    app.register_blueprint(jobs_bp)
    app.register_blueprint(notifications_bp)
    # Times on these pages read as on every screen (site time zone, user's language),
    # also where the screens' blueprint, which offers ``when`` too, is not registered.
    app.jinja_env.globals.setdefault("when", when)

    @app.context_processor
    def bell_context() -> dict[str, object]:
        def notifications_unread() -> int | None:
            from yiti.jobs import unread_count
            from yiti.web.app import current_site

            name = current_name()
            return None if name is None else unread_count(current_site(), name)

        def may_administer() -> bool:
            from yiti.web.auth.identity import current_actor

            actor = current_actor(required=False)
            return actor is not None and (actor.system or "Administrator" in actor.roles)

        return {"notifications_unread": notifications_unread, "jobs_layout": layout,
                "may_administer": may_administer}
