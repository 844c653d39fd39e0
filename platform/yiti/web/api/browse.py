"""``GET /api/v1/``: a browsable index of the API, rendered on the server (no script)."""

from __future__ import annotations

from flask import Response, render_template, request

from yiti.definitions.model import label_text
from yiti.web.api.blueprint import bp
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site
from yiti.web.auth import current_actor


@bp.get("/")
def index() -> Response | str:
    model = current_site().model
    entities = [e for e in model.entities.values() if not e.child]
    if request.accept_mimetypes.best == "application/json":
        return json_response({"entities": [{"name": e.name, "label": dict(e.label),
                                            "href": f"/api/v1/{e.name}"} for e in entities],
                              "openapi": "/api/v1/openapi.json"})
    actor = current_actor(required=False)
    return render_template("api/index.html", entities=entities, label_text=label_text,
                           actor=actor, model=model)
