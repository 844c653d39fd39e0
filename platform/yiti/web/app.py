"""The Flask application factory.

``create_app()`` builds the site from the environment (or takes one), then registers
each blueprint named in :data:`BLUEPRINTS`. Views are thin: they call the record
service (``current_site().records(actor)``) and render or serialise what it returns.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path

from flask import Flask, current_app
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, IntegerConverter

from yiti.config import Settings, from_env
from yiti.site import Site
from yiti.values import MAX_ID

#: "module:attribute" of every blueprint (or ``init_app(app)`` function) to register.
BLUEPRINTS: list[str] = [
    "yiti.web.auth:init_app",  # sessions, CSRF, security headers, /auth: before the rest
    "yiti.web.home:bp",
    "yiti.web.ui:init_app",
    "yiti.web.api:init_app",
    "yiti.web.pack_endpoints:init_app",  # packs' endpoints at /api/v1/x/<pack>/<name>
    "yiti.web.pack_pages:init_app",  # packs' pages at /p/<pack>/<path>
    "yiti.web.admin_jobs:init_app",  # /jobs (administrators), /notifications; installs jobs
    "yiti.web.admin_ui:init_app",  # /admin: users, permissions, explain (administrators)
    "yiti.web.workflow_views:init_app",  # actions, /api/v1/approvals, /workflow/inbox
    "yiti.web.reports_views:init_app",  # /reports, /dashboards and the report builder
]


def digits_at_most(limit: int) -> str:
    """A regular expression matching the ASCII numbers from 0 to ``limit`` (leading
    zeros allowed up to ``limit``'s length), so a larger one fails the route's pattern
    itself: a converter's refusal comes after the method check and makes a POST to a
    path that also has a GET a 405 instead of a 404."""
    top = str(limit)
    parts = [f"[0-9]{{1,{len(top) - 1}}}"] if len(top) > 1 else []
    for i, digit in enumerate(top):
        if digit != "0":
            rest = len(top) - i - 1
            parts.append(f"{top[:i]}[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(top)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number a database id can be (ASCII digits, below
    2**63), so a larger one, or digits of another script (``٣``, which ``int()`` reads
    as 3), match no route: a 404, never a failure in the database nor another record.
    Ids that are not ``<int:>`` (the API's, the workflow pages') are checked by
    :func:`yiti.web.api.inputs.possible_id`."""

    regex = digits_at_most(MAX_ID)

    def __init__(self, url_map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)  # type: ignore[arg-type]


class EntityConverter(BaseConverter):
    """``<entity:...>`` in the API's routes: a name an entity can have (metadata's name
    pattern), other than the API's own paths (``approvals``; ``_files``, ``_me`` and
    ``openapi.json`` fail the pattern). So ``PATCH /api/v1/_files/1`` or
    ``POST /api/v1/approvals`` is a 405 naming the methods there are, not a 404 for an
    entity called ``_files``."""

    regex = r"(?!approvals$)[a-z][a-z0-9_]{0,62}"
    part_isolating = True


def create_app(settings: Settings | None = None, *, site: Site | None = None) -> Flask:
    settings = settings or (site.settings if site else from_env())
    site = site or Site(settings)
    app = Flask("yiti", template_folder=str(Path(__file__).parent / "templates"),
                static_folder=None)
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.url_map.converters["entity"] = EntityConverter
    app.config["SECRET_KEY"] = settings.secret_key or _instance_secret(settings)
    app.config["YITI_SETTINGS"] = settings
    app.extensions["yiti"] = site
    for target in BLUEPRINTS:
        module_name, _, attr = target.partition(":")
        obj = getattr(importlib.import_module(module_name), attr)
        if callable(obj) and not hasattr(obj, "register"):
            obj(app)
        else:
            app.register_blueprint(obj)
    if settings.proxy_hops:  # outermost: every part sees the client's address and scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops,  # type: ignore[method-assign]
                                x_proto=settings.proxy_hops, x_host=settings.proxy_hops)
    return app


def current_site() -> Site:
    return current_app.extensions["yiti"]


def _instance_secret(settings: Settings) -> str:
    """A random secret kept in the instance folder, so sessions survive a restart."""
    path = settings.instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
