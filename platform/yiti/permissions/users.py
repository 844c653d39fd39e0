"""Users, their roles and passwords (Argon2id), and the actor each one acts as.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile);
a hash made with older parameters is upgraded at the next successful sign-in. Changing a
password records ``password_changed_at`` and ends the user's sessions (see
:func:`session_stamp`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from yiti.errors import FieldProblem, NotFound, ValidationError, did_you_mean
from yiti.languages import site_language
from yiti.permissions.policy import USER_NAME, Actor
from yiti.permissions.rules import ADMINISTRATOR
from yiti.records.transaction import reading

if TYPE_CHECKING:
    from yiti.site import Site

UTC = dt.UTC
MIN_PASSWORD = 8
DEMO_ADMIN = "admin"
_hasher = PasswordHasher()
#: Verified when the user does not exist, so a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))

User = dict[str, Any]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(name: str, password: str) -> None:
    """Refuse passwords too short or equal to the user name, naming the rule."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError([FieldProblem("password", f"must have at least {MIN_PASSWORD} "
                                            "characters", "too_short")])
    if password.strip().lower() == name.strip().lower():
        raise ValidationError([FieldProblem("password", "must not be the user name",
                                            "too_weak")])


def check_attributes(attributes: Mapping[str, Any]) -> None:
    """Refuse the reserved attribute ``name``: a row rule's ``user: name`` means the user's
    own name, so an attribute of that name would never be read (and would mislead)."""
    if USER_NAME in attributes:
        raise ValidationError([FieldProblem(
            f"attributes.{USER_NAME}", f"{USER_NAME!r} is reserved: row rules with "
            f"'user: {USER_NAME}' compare with the user's own user name; call the "
            "attribute something else", "reserved")])


def known_roles(site: Site) -> list[str]:
    """Roles declared by packs, created by administrators, and Administrator."""
    from yiti.permissions.role_policy import RolePolicy

    names = set(RolePolicy(site).declared.role_names()) if not isinstance(
        site.policy, RolePolicy) else set(site.policy.rules().role_names())
    t = site.tables["yiti_role"]
    with site.engine.connect() as conn:
        names.update(conn.execute(select(t.c.name)).scalars())
    return sorted(names)


def create_user(site: Site, name: str, password: str | None, *, roles: Iterable[str] = (),
                full_name: str | None = None, email: str | None = None,
                attributes: Mapping[str, Any] | None = None, language: str | None = None
                ) -> int:
    """Create a user; refuses unknown roles (with a suggestion), weak passwords and a
    language the site does not speak (:func:`yiti.languages.site_language`)."""
    language = site_language(language)
    name = name.strip()
    if not name or len(name) > 140:
        raise ValidationError([FieldProblem("name", "must be 1 to 140 characters")])
    if password is not None:
        check_password_strength(name, password)
    roles = list(dict.fromkeys(roles))
    _check_roles(site, roles)
    check_attributes(attributes or {})
    t = site.tables["yiti_user"]
    now = dt.datetime.now(UTC)
    with site.engine.begin() as conn:
        if conn.execute(select(t.c.id).where(t.c.name == name)).first() is not None:
            raise ValidationError([FieldProblem("name", f"a user called {name!r} already "
                                                "exists", "unique")])
        ident = conn.execute(insert(t).values(
            name=name, full_name=full_name, email=email, enabled=True, language=language,
            attributes=dict(attributes or {}), created_at=now,
            password_hash=hash_password(password) if password is not None else None,
            password_changed_at=now if password is not None else None,
        ).returning(t.c.id)).scalar_one()
        _write_roles(conn, site, ident, roles)
    return ident


def set_roles(site: Site, name: str, roles: Iterable[str]) -> None:
    roles = list(dict.fromkeys(roles))
    _check_roles(site, roles)
    user = get_user(site, name)
    with site.engine.begin() as conn:
        _write_roles(conn, site, user["id"], roles)


def set_language(site: Site, name: str, language: str | None) -> None:
    """Set a user's language (their screens, e-mails and notifications), one the site
    speaks; None for the browser's."""
    language = site_language(language)
    user = get_user(site, name)
    t = site.tables["yiti_user"]
    with site.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == user["id"]).values(language=language))


def set_attributes(site: Site, name: str, attributes: Mapping[str, Any]) -> None:
    """Replace a user's attributes (what row rules compare with)."""
    check_attributes(attributes)
    user = get_user(site, name)
    t = site.tables["yiti_user"]
    with site.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == user["id"]).values(attributes=dict(attributes)))


def set_enabled(site: Site, name: str, enabled: bool) -> None:
    """Enable or disable a user; disabling ends every session of the user."""
    user = get_user(site, name)
    t = site.tables["yiti_user"]
    with site.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == user["id"]).values(enabled=enabled))
        if not enabled:
            end_sessions(conn, site, user["id"])


def set_password(site: Site, name: str, password: str) -> None:
    """Change a password; every session of the user ends."""
    check_password_strength(name, password)
    user = get_user(site, name)
    t = site.tables["yiti_user"]
    with site.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == user["id"]).values(
            password_hash=hash_password(password), password_changed_at=dt.datetime.now(UTC)))
        end_sessions(conn, site, user["id"])


def end_sessions(conn: Any, site: Site, user_id: int) -> None:
    """Delete the user's sessions kept in the database (Redis sessions end through the
    session stamp, which no longer matches)."""
    sessions = site.tables["yiti_session"]
    conn.execute(delete(sessions).where(sessions.c.user_id == str(user_id)))


def get_user(site: Site, name: str) -> User:
    t = site.tables["yiti_user"]
    with site.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no user called {name!r}")
    return dict(row)


def user_by_id(site: Site, ident: int) -> User | None:
    t = site.tables["yiti_user"]
    with site.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == ident)).mappings().first()
    return dict(row) if row is not None else None


def roles_of(site: Site, user_id: int) -> frozenset[str]:
    t = site.tables["yiti_user_role"]
    with site.engine.connect() as conn:
        return frozenset(conn.execute(select(t.c.role).where(t.c.user_id == user_id)).scalars())


def users_with_role(site: Site, role: str) -> list[str]:
    """The names of the enabled users holding ``role``, sorted: whom a workflow's
    ``notify: [{role: ...}]`` reaches, and what a job loops over to tell them the same."""
    users, roles = site.tables["yiti_user"], site.tables["yiti_user_role"]
    with reading(site.engine) as conn:
        return list(conn.execute(
            select(users.c.name).join(roles, users.c.id == roles.c.user_id)
            .where(roles.c.role == role, users.c.enabled.is_(True))
            .order_by(users.c.name)).scalars())


def authenticate(site: Site, name: str, password: str) -> User | None:
    """The enabled user with this name and password, or None (taking as long either way)."""
    t = site.tables["yiti_user"]
    with site.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    user = dict(row) if row is not None else None
    stored = user["password_hash"] if user and user["password_hash"] else _DUMMY
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user["enabled"] or not user["password_hash"]:
        return None
    if _hasher.check_needs_rehash(stored):
        with site.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == user["id"]).values(
                password_hash=hash_password(password)))
    return user


def session_stamp(user: Mapping[str, Any]) -> str:
    """A short digest of the password hash: sessions carry it, and a session whose stamp no
    longer matches (the password changed) is no longer signed in."""
    return hashlib.sha256((user.get("password_hash") or "-").encode()).hexdigest()[:16]


def actor_for(site: Site, user: Mapping[str, Any], *, scopes: frozenset[str] | None = None,
              roles: frozenset[str] | None = None) -> Actor:
    """The actor a user acts as: name, roles and attributes (and token scopes); ``roles``
    when the caller has just read them."""
    return Actor(user["name"], roles_of(site, user["id"]) if roles is None else roles,
                 attributes=dict(user.get("attributes") or {}), scopes=scopes)


def demo_admin_password_path(site: Site) -> Path:
    """Where :func:`ensure_demo_admin` keeps the password: in the site's instance folder
    (``YITI_INSTANCE``), wherever that is."""
    return site.settings.instance_path / "demo_admin_password"


def ensure_demo_admin(site: Site) -> tuple[str, str]:
    """A user ``admin`` with role Administrator for ``make run``; returns (name, password).

    The password is random, kept in :func:`demo_admin_password_path` (readable only by its
    owner) so that running the demo again prints the same one.
    """
    path = demo_admin_password_path(site)
    path.parent.mkdir(parents=True, exist_ok=True)
    password = path.read_text().strip() if path.exists() else ""
    try:
        user = get_user(site, DEMO_ADMIN)
    except NotFound:
        user = None
    valid = bool(password) and user is not None and authenticate(
        site, DEMO_ADMIN, password) is not None
    if not valid:
        password = secrets.token_urlsafe(12)
        if user is None:
            create_user(site, DEMO_ADMIN, password, roles=[ADMINISTRATOR],
                        full_name="Demo administrator")
        else:
            set_password(site, DEMO_ADMIN, password)
            set_roles(site, DEMO_ADMIN, sorted(roles_of(site, user["id"]) | {ADMINISTRATOR}))
        path.write_text(password + "\n")
        path.chmod(0o600)
    return DEMO_ADMIN, password


def _check_roles(site: Site, roles: list[str]) -> None:
    known = known_roles(site)
    problems = []
    for i, role in enumerate(roles):
        if role not in known:
            hint = did_you_mean(role, known)
            problems.append(FieldProblem(f"roles[{i}]", f"unknown role {role!r}"
                                         + (f"; {hint}" if hint else ""), "unknown_role"))
    if problems:
        raise ValidationError(problems)


def _write_roles(conn: Any, site: Site, user_id: int, roles: list[str]) -> None:
    t = site.tables["yiti_user_role"]
    conn.execute(delete(t).where(t.c.user_id == user_id))
    if roles:
        conn.execute(insert(t), [{"user_id": user_id, "role": r} for r in roles])
