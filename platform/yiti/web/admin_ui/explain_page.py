"""/admin/explain: why may (or may not) a user do an action on an entity or one record?

The answer is :func:`yiti.permissions.explain.explain`, as for
``GET /api/v1/_admin/explain``: the decision, the rule that decided and its source.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from yiti.errors import FieldProblem, NotFound, ValidationError
from yiti.permissions import users
from yiti.permissions.explain import Explanation, explain
from yiti.permissions.policy import ACTIONS
from yiti.web.admin_ui import effective
from yiti.web.admin_ui.access import policy
from yiti.web.admin_ui.blueprint import bp
from yiti.web.admin_ui.formdata import errors_by_field
from yiti.web.admin_ui.user_pages import user_rows
from yiti.web.app import current_site
from yiti.workflow.guard import with_workflow_lock


@bp.get("/explain")
def explain_view() -> tuple[str, int]:
    """The question form and, once asked, the answer."""
    args = request.args
    values = {k: (args.get(k) or "").strip() for k in ("user", "entity", "action", "id")}
    answer: Explanation | None = None
    errors: dict[str, list[str]] = {}
    status = 200
    if "entity" in args:  # the form was sent (a link may only name the user)
        try:
            answer = _answer(values)
        except ValidationError as error:
            errors, status = errors_by_field(error), 422
    return render_template(
        "admin/explain.html", values=values, answer=answer, errors=errors, actions=ACTIONS,
        entities=effective.screen_entities(current_site().model),
        user_names=[u["name"] for u in user_rows()]), status


def _answer(values: dict[str, Any]) -> Explanation:
    site = current_site()
    problems = [FieldProblem(k, "is required", "required")
                for k in ("user", "entity", "action") if not values[k]]
    if values["action"] and values["action"] not in ACTIONS:
        problems.append(FieldProblem("action", f"must be one of {', '.join(ACTIONS)}"))
    entity = site.model.entities.get(values["entity"])
    if values["entity"] and entity is None:
        problems.append(FieldProblem("entity", f"unknown entity {values['entity']!r}"))
    if values["id"] and not values["id"].isdigit():
        problems.append(FieldProblem("id", "must be a record id (a number)", "type"))
    user = None
    try:
        user = users.get_user(site, values["user"]) if values["user"] else None
    except NotFound as error:
        problems.append(FieldProblem("user", error.message, "unknown"))
    if problems or entity is None or user is None:
        raise ValidationError(problems)
    actor = users.actor_for(site, user)
    number = int(values["id"]) if values["id"] else None
    return with_workflow_lock(site, explain(policy(), actor, entity, values["action"], number),
                              entity.name, values["action"], number)
