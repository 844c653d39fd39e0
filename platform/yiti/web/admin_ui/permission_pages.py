"""/admin/permissions: the rules in force per role, and an administrator's overrides.

A change goes through :func:`yiti.permissions.overrides.validate` and
:func:`~yiti.permissions.overrides.save` (or ``remove``) and then invalidates the policy:
the same steps as ``PUT/DELETE /api/v1/_admin/permissions/...``, so the next list, API
call or export already follows it.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from yiti.errors import NotFound, ValidationError
from yiti.permissions import overrides, users
from yiti.permissions.policy import ACTIONS
from yiti.permissions.rules import ADMINISTRATOR
from yiti.web.admin_ui import effective
from yiti.web.admin_ui.access import policy
from yiti.web.admin_ui.blueprint import bp
from yiti.web.admin_ui.formdata import errors_by_field, format_row_rules, parse_row_rules
from yiti.web.app import current_site
from yiti.web.auth import current_actor, require_fresh
from yiti.web.ui.i18n import gettext


def _overrides() -> list[dict[str, Any]]:
    site = current_site()
    return overrides.load(site.engine, site.tables["yiti_permission"])


def _roles() -> list[str]:
    return effective.roles_in_force(policy().rules(), users.known_roles(current_site()))


@bp.get("/permissions")
def permissions() -> str:
    """The table for one role (the first one that is not Administrator by default)."""
    roles = _roles()
    role = (request.args.get("role") or "").strip()[:63]
    if not role:
        role = next((r for r in roles if r != ADMINISTRATOR), ADMINISTRATOR)
    rules = policy().rules()
    table = effective.role_rules(rules, current_site().model, role, _overrides())
    return render_template("admin/permissions.html", roles=roles, role=role, table=table,
                           actions=ACTIONS, label=rules.roles.get(role, {}).get("label"),
                           administrator=role == ADMINISTRATOR)


@bp.get("/permissions/<role>/<entity>")
def permission_edit(role: str, entity: str) -> tuple[str, int]:
    return _edit_page(role, entity, {}, {})


def _edit_page(role: str, entity: str, values: dict[str, Any], errors: dict[str, list[str]],
               status: int = 200) -> tuple[str, int]:
    model = current_site().model
    target = model.entities.get(entity)
    if role == ADMINISTRATOR or len(role) > 63 or not (
            entity == "*" or (target is not None and not target.child)):
        abort(404)
    rules = policy().rules()
    line = next(r for r in effective.role_rules(rules, model, role, _overrides())
                if r.name == entity)
    values = {"actions": sorted(line.actions), "rules": format_row_rules(line.rows),
              "field": "", "access": "hidden", **values}
    return render_template("admin/permission_edit.html", role=role, entity=target,
                           entity_name=entity, line=line, values=values, errors=errors,
                           actions=ACTIONS), status


@bp.post("/permissions/<role>/<entity>/<any(access, rows, field):kind>")
def permission_save(role: str, entity: str, kind: str) -> Any:
    """Save one override: the access actions, the row rules, or one field's rule."""
    actor = current_actor()
    require_fresh()
    site = current_site()
    form = request.form
    field = (form.get("field") or "") if kind == "field" else ""
    values: dict[str, Any] = {}
    try:
        if kind == "access":
            values["actions"] = form.getlist("actions")
            body: dict[str, Any] = {"actions": values["actions"]}
        elif kind == "rows":
            values["rules"] = form.get("rules") or ""
            body = {"rules": parse_row_rules(values["rules"])}
        else:
            values.update(field=field, access=form.get("access") or "")
            body = {"access": values["access"]}
        stored = overrides.validate(site.model, kind, role, entity, field, body)
    except ValidationError as error:
        return _edit_page(role, entity, values, errors_by_field(error), 422)
    overrides.save(site.engine, site.tables["yiti_permission"], kind=kind, role=role,
                   entity=entity, field=field, body=stored, user=actor.name)
    policy().invalidate()
    flash(gettext("Saved. The change applies now, everywhere."), "success")
    return redirect(url_for("admin.permission_edit", role=role, entity=entity))


@bp.post("/permissions/<role>/<entity>/remove")
def permission_remove(role: str, entity: str) -> Response:
    """Remove an override: the declared rule applies again."""
    require_fresh()
    site = current_site()
    kind = request.form.get("kind") or ""
    field = request.form.get("field") or ""
    if kind not in overrides.KINDS or not overrides.remove(
            site.engine, site.tables["yiti_permission"], kind=kind, role=role, entity=entity,
            field=field if kind == "field" else ""):
        raise NotFound("no such override")
    policy().invalidate()
    flash(gettext("Override removed; the declared rule applies again."), "success")
    return redirect(url_for("admin.permission_edit", role=role, entity=entity))
