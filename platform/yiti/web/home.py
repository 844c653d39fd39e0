"""The home page: the modules of this site and their entities."""

from __future__ import annotations

from flask import Blueprint, render_template

from yiti.definitions.model import label_text
from yiti.web.app import current_site

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> str:
    model = current_site().model
    modules = [
        (m, [e for e in model.entities.values() if e.module == m.name and not e.child])
        for m in model.modules.values()
    ]
    return render_template("home.html", modules=modules, label_text=label_text)


@bp.get("/healthz")
def health() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200
