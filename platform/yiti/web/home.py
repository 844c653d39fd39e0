"""The site's root and its health check.

``/`` sends people to the staff screens' start page (``/app/``), which asks for a sign-in
first when needed; a shop front lives under its pack's pages (``/p/<pack>/``).
"""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from werkzeug.wrappers import Response

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> Response:
    return redirect(url_for("ui.index"))


@bp.get("/healthz")
def health() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200
