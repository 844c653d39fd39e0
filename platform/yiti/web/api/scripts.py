"""Analysts' script endpoints: ``POST /api/v1/_scripts/<name>`` runs an ``api`` script.

The request's JSON object is the script's ``params``; its ``result`` is the answer. The
script runs with the caller's permissions, inside one transaction; a refusal comes back
in the API's one error shape.
"""

from __future__ import annotations

from flask import Response

from yiti.automation import run_endpoint
from yiti.web.api.blueprint import bp
from yiti.web.api.records import body_object
from yiti.web.api.serialize import json_response, jsonable
from yiti.web.app import current_site
from yiti.web.auth import current_actor


@bp.post("/_scripts/<name>")
def run_script(name: str) -> Response:
    actor = current_actor()
    result = run_endpoint(current_site(), actor, name, body_object())
    return json_response({"result": jsonable(result)})
