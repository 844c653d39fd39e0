"""The signed-in user's own endpoints (``/_me``), and administration (``/_admin``):
permissions as declared and overridden, "explain", users and API tokens.

Changing permissions, creating users and creating tokens are sensitive: they need a
fresh sign-in (:func:`yiti.web.auth.require_fresh`), which an API token never is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request
from flask_wtf.csrf import generate_csrf

from yiti.errors import FieldProblem, Forbidden, NotFound, ValidationError
from yiti.permissions import overrides, tokens, users
from yiti.permissions.explain import explain
from yiti.permissions.policy import ACTIONS, Actor
from yiti.permissions.role_policy import RolePolicy
from yiti.web.api.blueprint import bp
from yiti.web.api.records import body_object
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site
from yiti.web.auth import current_actor, current_user_row, require_fresh
from yiti.workflow.guard import with_workflow_lock


def _admin() -> Actor:
    actor = current_actor()
    if actor.system:
        return actor
    if "Administrator" not in actor.roles or (actor.scopes is not None
                                              and "*" not in actor.scopes):
        raise Forbidden("only an Administrator may do this")
    return actor


def _policy() -> RolePolicy:
    policy = current_site().policy
    if not isinstance(policy, RolePolicy):
        raise NotFound("this site does not use role permissions")
    return policy


# -- me -------------------------------------------------------------------------------

@bp.get("/_me")
def me() -> Response:
    """Who am I: name, roles, attributes; and the CSRF token for session clients."""
    actor = current_actor()
    row = current_user_row() or {}
    body: dict[str, Any] = {"name": actor.name, "full_name": row.get("full_name"),
                            "roles": sorted(actor.roles),
                            "attributes": dict(actor.attributes),
                            "scopes": sorted(actor.scopes) if actor.scopes is not None
                            else None}
    if actor.scopes is None:
        body["csrf_token"] = generate_csrf()
    return json_response(body)


@bp.get("/_me/tokens")
def my_tokens() -> Response:
    current_actor()
    row = current_user_row() or {}
    return json_response({"data": tokens.tokens_of(current_site(), row["id"])})


@bp.post("/_me/tokens")
def create_token() -> Response:
    """A new API token for the signed-in user (shown once). Needs a fresh sign-in."""
    require_fresh()
    row = current_user_row() or {}
    body = body_object()
    days = body.get("expires_in_days")
    if days is not None and (not isinstance(days, int) or not 0 < days <= 3650):
        raise ValidationError([FieldProblem("expires_in_days", "must be 1 to 3650", "range")])
    token, ident = tokens.create_token(
        current_site(), row["id"], body.get("scopes") or [], label=body.get("label"),
        expires_in=dt.timedelta(days=days) if days else None)
    return json_response({"id": ident, "token": token, "scopes": body.get("scopes")}, 201)


@bp.delete("/_me/tokens/<int:ident>")
def revoke_token(ident: int) -> Response:
    current_actor()
    row = current_user_row() or {}
    if not tokens.revoke_token(current_site(), ident, row["id"]):
        raise NotFound(f"no token {ident} of yours")
    return Response(status=204)


# -- permissions ----------------------------------------------------------------------

@bp.get("/_admin/permissions")
def permissions() -> Response:
    """The rules in force: each with where it came from (a file and line, or an override)."""
    _admin()
    rules = _policy().rules()
    return json_response({
        "roles": rules.role_names(),
        "access": [{"role": g.role, "entity": g.entity,
                    "actions": [a for a in ACTIONS if a in g.actions], "source": g.source}
                   for g in sorted(rules.grants.values(), key=lambda g: (g.role, g.entity))],
        "rows": [{"role": r.role, "entity": r.entity, **r.to_dict(), "source": r.source}
                 for key in sorted(rules.rows) for r in rules.rows[key]],
        "fields": [{"role": f.role, "entity": f.entity, "field": f.field,
                    "access": f.access, "source": f.source}
                   for key in sorted(rules.fields) for f in rules.fields[key].values()],
    })


@bp.put("/_admin/permissions/<any(access, rows):kind>/<role>/<entity>")
@bp.put("/_admin/permissions/field/<role>/<entity>/<field>", defaults={"kind": "field"})
def set_permission(kind: str, role: str, entity: str, field: str = "") -> Response:
    """Override one rule (see :mod:`yiti.permissions.overrides`). Needs a fresh sign-in."""
    actor = _admin()
    require_fresh()
    site = current_site()
    body = overrides.validate(site.model, kind, role, entity, field, body_object())
    overrides.save(site.engine, site.tables["yiti_permission"], kind=kind, role=role,
                   entity=entity, field=field, body=body, user=actor.name)
    _policy().invalidate()
    return json_response({"kind": kind, "role": role, "entity": entity, "field": field or None,
                          **body})


@bp.delete("/_admin/permissions/<any(access, rows):kind>/<role>/<entity>")
@bp.delete("/_admin/permissions/field/<role>/<entity>/<field>", defaults={"kind": "field"})
def remove_permission(kind: str, role: str, entity: str, field: str = "") -> Response:
    """Remove an override: the declared rule applies again."""
    _admin()
    require_fresh()
    site = current_site()
    if not overrides.remove(site.engine, site.tables["yiti_permission"], kind=kind, role=role,
                            entity=entity, field=field):
        raise NotFound("no such override")
    _policy().invalidate()
    return Response(status=204)


@bp.get("/_admin/explain")
def explain_view() -> Response:
    """Why may (or may not) ``user`` do ``action`` on ``entity`` (record ``id``)?"""
    _admin()
    site = current_site()
    args = request.args
    problems = [FieldProblem(k, "is required", "required")
                for k in ("user", "entity", "action") if not args.get(k)]
    if args.get("action") and args["action"] not in ACTIONS:
        problems.append(FieldProblem("action", f"must be one of {', '.join(ACTIONS)}",
                                     "invalid"))
    if problems:
        raise ValidationError(problems)
    user = users.get_user(site, args["user"])
    actor = users.actor_for(site, user)
    try:
        entity = site.model.entity(args["entity"])
    except KeyError as error:
        raise NotFound(str(error.args[0])) from None
    ident = args.get("id")
    if ident is not None and not ident.isdigit():
        raise ValidationError([FieldProblem("id", "must be a record id", "type")])
    number = int(ident) if ident else None
    result = with_workflow_lock(site, explain(_policy(), actor, entity, args["action"], number),
                                entity.name, args["action"], number)
    return json_response({"user": actor.name, "roles": sorted(actor.roles),
                          "entity": entity.name, "action": args["action"],
                          "id": number, **result.to_dict()})


# -- users ----------------------------------------------------------------------------

@bp.post("/_admin/users")
def create_user() -> Response:
    """Create a user: name, password, roles, attributes, language (one the site speaks,
    else 422 at ``language``). Needs a fresh sign-in."""
    _admin()
    require_fresh()
    body = body_object()
    site = current_site()
    ident = users.create_user(site, str(body.get("name") or ""),
                              body.get("password"), roles=body.get("roles") or [],
                              full_name=body.get("full_name"), email=body.get("email"),
                              attributes=body.get("attributes") or {},
                              language=body.get("language"))
    row = users.get_user(site, str(body.get("name") or "").strip())
    return json_response({"id": ident, "name": row["name"], "language": row["language"]}, 201)


@bp.patch("/_admin/users/<name>")
def change_user(name: str) -> Response:
    """Change a user's roles, attributes, language or enabled flag. Needs a fresh
    sign-in."""
    _admin()
    require_fresh()
    site = current_site()
    body = body_object()
    if "roles" in body:
        users.set_roles(site, name, body["roles"] or [])
    if "attributes" in body:
        users.set_attributes(site, name, body["attributes"] or {})
    if "language" in body:
        users.set_language(site, name, body["language"])
    if "enabled" in body:
        users.set_enabled(site, name, bool(body["enabled"]))
    row = users.get_user(site, name)
    return json_response({"name": name, "roles": sorted(users.roles_of(site, row["id"])),
                          "attributes": row["attributes"], "language": row["language"],
                          "enabled": row["enabled"]})
