"""/admin/users: list, create, change roles, attributes and enabled, reset a password.

Changes call :mod:`yiti.permissions.users`, as ``POST/PATCH /api/v1/_admin/users`` do, and
need a fresh sign-in like them.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from yiti.errors import FieldProblem, ValidationError
from yiti.languages import LANGUAGES, site_language
from yiti.permissions import users
from yiti.permissions.rules import ADMINISTRATOR
from yiti.web.admin_ui.blueprint import bp
from yiti.web.admin_ui.formdata import errors_by_field, format_attributes, parse_attributes
from yiti.web.app import current_site
from yiti.web.auth import current_actor, require_fresh
from yiti.web.ui.i18n import gettext

LIMIT = 500


def user_rows(search: str = "") -> list[dict[str, Any]]:
    """Users by name (those whose name, full name or e-mail holds ``search``), with roles."""
    site = current_site()
    t, r = site.tables["yiti_user"], site.tables["yiti_user_role"]
    query = select(t.c.id, t.c.name, t.c.full_name, t.c.email, t.c.enabled, t.c.language,
                   t.c.attributes).order_by(t.c.name).limit(LIMIT)
    if search:
        like = f"%{search}%"
        query = query.where(t.c.name.ilike(like) | t.c.full_name.ilike(like)
                            | t.c.email.ilike(like))
    with site.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
        ids = [row["id"] for row in rows]
        roles: dict[Any, list[str]] = {}
        for user_id, role in conn.execute(select(r.c.user_id, r.c.role).where(
                r.c.user_id.in_(ids)).order_by(r.c.role)):
            roles.setdefault(user_id, []).append(role)
    for row in rows:
        row["roles"] = roles.get(row["id"], [])
    return rows


@bp.get("/users", endpoint="users")
def users_list() -> str:
    search = (request.args.get("q") or "").strip()
    return render_template("admin/users.html", users=user_rows(search), q=search,
                           limit=LIMIT)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Any:
    values: dict[str, Any] = {"roles": [], "attributes": "", "language": ""}
    if request.method == "GET":
        return _new_form(values, {})
    require_fresh()
    form = request.form
    values = {"name": (form.get("name") or "").strip(),
              "full_name": (form.get("full_name") or "").strip(),
              "email": (form.get("email") or "").strip(), "language": form.get("language") or "",
              "roles": form.getlist("roles"), "attributes": form.get("attributes") or ""}
    password = form.get("password") or ""
    try:
        attributes = parse_attributes(values["attributes"])
        problems = []
        if not password:
            problems.append(FieldProblem("password", "is required", "required"))
        if problems:
            raise ValidationError(problems)
        users.create_user(current_site(), values["name"], password, roles=values["roles"],
                          full_name=values["full_name"] or None, email=values["email"] or None,
                          attributes=attributes, language=values["language"] or None)
    except ValidationError as error:
        return _new_form(values, errors_by_field(error), 422)
    flash(gettext("User %(name)s created.", name=values["name"]), "success")
    return redirect(url_for("admin.user_edit", name=values["name"]))


def _new_form(values: dict[str, Any], errors: dict[str, list[str]], status: int = 200
              ) -> tuple[str, int]:
    return render_template("admin/user_new.html", values=values, errors=errors,
                           roles=users.known_roles(current_site()),
                           languages=LANGUAGES), status


@bp.route("/users/<name>", methods=["GET", "POST"])
def user_edit(name: str) -> Any:
    site = current_site()
    user = users.get_user(site, name)
    current = sorted(users.roles_of(site, user["id"]))
    values: dict[str, Any] = {"roles": current, "enabled": bool(user["enabled"]),
                              "attributes": format_attributes(user["attributes"]),
                              "language": user["language"] or ""}
    if request.method == "GET":
        return _edit_form(user, values, {})
    require_fresh()
    form = request.form
    values = {"roles": form.getlist("roles"), "enabled": form.get("enabled") == "1",
              "attributes": form.get("attributes") or "",
              "language": form.get("language") or ""}
    try:
        attributes = parse_attributes(values["attributes"])
        language = site_language(values["language"])  # refused before anything changes
        _keep_yourself(name, values)
        users.set_roles(site, name, values["roles"])
        users.set_attributes(site, name, attributes)
        if values["enabled"] != bool(user["enabled"]):
            users.set_enabled(site, name, values["enabled"])
        if language != user["language"]:
            users.set_language(site, name, language)
    except ValidationError as error:
        return _edit_form(user, values, errors_by_field(error), 422)
    flash(gettext("User %(name)s saved.", name=name), "success")
    return redirect(url_for("admin.user_edit", name=name))


def _keep_yourself(name: str, values: dict[str, Any]) -> None:
    """An administrator cannot lock themselves out from this page."""
    if name != current_actor().name:
        return
    problems = []
    if ADMINISTRATOR not in values["roles"]:
        problems.append(FieldProblem("roles", "you cannot take the role Administrator "
                                     "from yourself; ask another administrator"))
    if not values["enabled"]:
        problems.append(FieldProblem("enabled", "you cannot disable yourself"))
    if problems:
        raise ValidationError(problems)


@bp.post("/users/<name>/password")
def user_password(name: str) -> Any:
    """Set a new password; every session of the user ends."""
    site = current_site()
    user = users.get_user(site, name)
    require_fresh()
    password = request.form.get("password") or ""
    try:
        if name == current_actor().name:
            raise ValidationError([FieldProblem("password", "change your own password on "
                                                "the password page; it asks for the "
                                                "current one")])
        if password != (request.form.get("confirm") or ""):
            raise ValidationError([FieldProblem("confirm", "the two passwords differ")])
        users.set_password(site, name, password)
    except ValidationError as error:
        values = {"roles": sorted(users.roles_of(site, user["id"])),
                  "enabled": bool(user["enabled"]),
                  "attributes": format_attributes(user["attributes"])}
        return _edit_form(user, values, errors_by_field(error), 422)
    flash(gettext("Password of %(name)s changed; their sessions ended.", name=name),
          "success")
    return redirect(url_for("admin.user_edit", name=name))


def _edit_form(user: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]],
               status: int = 200) -> tuple[str, int]:
    roles = sorted(set(users.known_roles(current_site())) | set(values["roles"]))
    return render_template("admin/user_edit.html", user=user, values=values, errors=errors,
                           roles=roles, myself=user["name"] == current_actor().name,
                           languages=LANGUAGES), status
