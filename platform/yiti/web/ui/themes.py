"""Themes: a search path of template and static folders, and the npm packages we serve.

``YITI_THEME`` names the site's theme: a folder under ``themes/`` (or a path). Templates
and static files are looked up in it first, then in ``themes/default``; a theme overrides
any template by giving a file of the same name (``ui/list.html``) and nothing else.

Front-end packages (htmx, Bootstrap) come from the npm registry through ``package.json``;
``make`` installs them into ``node_modules`` and :func:`asset` serves files from the
packages listed there, so no third-party code is copied into the repository.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, abort, send_from_directory
from jinja2 import BaseLoader, BytecodeCache, ChoiceLoader, FileSystemLoader
from jinja2.bccache import Bucket

from yiti.config import PROJECT_ROOT

THEMES = PROJECT_ROOT / "themes"
DEFAULT = "default"

bp = Blueprint("ui_assets", __name__)


def theme_dirs(name: str | None = None) -> list[Path]:
    """The theme folders to search, the site's theme first and ``default`` last."""
    name = name if name is not None else os.environ.get("YITI_THEME", "")
    dirs = []
    if name and name != DEFAULT:
        path = Path(name) if os.sep in name or name.startswith(".") else THEMES / name
        if path.is_dir():
            dirs.append(path)
    dirs.append(THEMES / DEFAULT)
    return dirs


class SharedBytecode(BytecodeCache):
    """Compiled templates shared by every app in the process (tests build many apps;
    Jinja checks each template's source checksum, so an edited template recompiles)."""

    store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        data = self.store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


def install(app: Flask, theme: str | None = None) -> None:
    """Put the theme folders in front of the app's own templates."""
    app.jinja_env.bytecode_cache = SharedBytecode()
    dirs = theme_dirs(theme)
    app.config["YITI_THEME_DIRS"] = dirs
    loaders: list[BaseLoader] = [FileSystemLoader([str(d / "templates") for d in dirs])]
    if app.jinja_loader is not None:
        loaders.append(app.jinja_loader)
    app.jinja_env.loader = ChoiceLoader(loaders)


def node_modules() -> Path:
    return Path(os.environ.get("YITI_NODE_MODULES") or PROJECT_ROOT / "node_modules")


@cache
def packages() -> frozenset[str]:
    """The npm packages ``package.json`` asks for: the only ones :func:`asset` serves."""
    try:
        data = json.loads((PROJECT_ROOT / "package.json").read_text())
    except (OSError, ValueError):
        return frozenset()
    return frozenset(data.get("dependencies") or {})


@bp.get("/assets/<path:package>/-/<path:filename>")
def asset(package: str, filename: str):  # noqa: ANN201 - a file response
    """A file of an installed npm package: ``/assets/htmx.org/-/dist/htmx.min.js``."""
    if package not in packages():
        abort(404)
    response = send_from_directory(node_modules() / package, filename, max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/static/theme/<path:filename>")
def static(filename: str):  # noqa: ANN201 - a file response
    """A theme's own static file, from the first theme that has it."""
    from flask import current_app

    for folder in current_app.config.get("YITI_THEME_DIRS") or theme_dirs():
        if (folder / "static" / filename).is_file():
            response = send_from_directory(folder / "static", filename, max_age=3600)
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
    abort(404)
