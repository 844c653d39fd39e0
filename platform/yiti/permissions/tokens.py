"""API tokens for integrations: ``Authorization: Bearer yt_<id>_<secret>``.

Only a SHA-256 digest of the secret is stored; the token is shown once, when created.
Scopes limit what the token may do on top of its user's roles: ``read:*``, ``write:*``,
``read:<entity>``, ``write:<entity>`` (write covers create, write, delete, submit, cancel,
import), or ``*``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, select, update

from yiti.db import kept_statement, run_kept
from yiti.errors import FieldProblem, ValidationError, did_you_mean
from yiti.records.transaction import reading

if TYPE_CHECKING:
    from yiti.site import Site

UTC = dt.UTC
PREFIX = "yt_"
_TOKEN = re.compile(r"^yt_(\d{1,18})_([A-Za-z0-9_-]{20,100})$")


def check_scopes(site: Site, scopes: Iterable[str]) -> list[str]:
    """The scopes, checked: each is ``*``, ``read:...`` or ``write:...`` of a known entity."""
    out = []
    problems = []
    for i, scope in enumerate(scopes):
        kind, _, entity = str(scope).partition(":")
        if scope == "*" or (kind in ("read", "write") and (
                entity == "*" or entity in site.model.entities)):
            out.append(str(scope))
            continue
        hint = did_you_mean(entity, site.model.entities) if kind in ("read", "write") else None
        problems.append(FieldProblem(f"scopes[{i}]", f"unknown scope {scope!r}: use *, "
                                     "read:<entity|*> or write:<entity|*>"
                                     + (f"; {hint}" if hint else ""), "invalid"))
    if problems:
        raise ValidationError(problems)
    if not out:
        raise ValidationError([FieldProblem("scopes", "give at least one scope", "required")])
    return out


def create_token(site: Site, user_id: int, scopes: Iterable[str], *, label: str | None = None,
                 expires_in: dt.timedelta | None = None) -> tuple[str, int]:
    """A new token for the user; returns (the token, shown only now; its id)."""
    scopes = check_scopes(site, scopes)
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now(UTC)
    t = site.tables["yiti_api_token"]
    with site.engine.begin() as conn:
        ident = conn.execute(insert(t).values(
            user_id=user_id, label=label, secret_hash=_digest(secret), scopes=scopes,
            expires_at=now + expires_in if expires_in else None, created_at=now,
            revoked=False).returning(t.c.id)).scalar_one()
    return f"{PREFIX}{ident}_{secret}", ident


def token_user(site: Site, token: str
               ) -> tuple[dict[str, Any], frozenset[str], frozenset[str]] | None:
    """(the user's row, the token's scopes, the user's roles) for a valid, unexpired,
    unrevoked token of an enabled user; None otherwise. One read (a row per role of the
    user), for authenticating each API request."""
    match = _TOKEN.match(token.strip())
    if not match:
        return None
    t, u = site.tables["yiti_api_token"], site.tables["yiti_user"]
    roles = site.tables["yiti_user_role"]

    def build(t: Any) -> Any:
        token_columns = [t.c[name].label(f"_token_{name}")
                         for name in ("revoked", "secret_hash", "expires_at", "scopes")]
        return (select(*token_columns, u, roles.c.role.label("_role"))
                .join_from(t, u, u.c.id == t.c.user_id)
                .outerjoin(roles, roles.c.user_id == u.c.id)
                .where(t.c.id == bindparam("token_id")))

    query = kept_statement(t, "token_user", build)
    with reading(site.engine) as conn:
        rows = run_kept(conn, query, {"token_id": int(match.group(1))})
    if not rows or not rows[0]["enabled"]:
        return None
    row = rows[0]
    found = {k[len("_token_"):]: v for k, v in row.items() if k.startswith("_token_")}
    if not _valid(found, match.group(2)):
        return None
    user = {k: row[k] for k in u.c.keys()}
    granted = frozenset(r["_role"] for r in rows if r["_role"] is not None)
    return user, frozenset(found["scopes"]), granted


def _valid(row: Any, secret: str) -> bool:
    """Whether a token row (revoked, secret_hash, expires_at) is good for ``secret`` now."""
    if row["revoked"] or not hmac.compare_digest(row["secret_hash"], _digest(secret)):
        return False
    return row["expires_at"] is None or row["expires_at"] > dt.datetime.now(UTC)


def revoke_token(site: Site, ident: int, user_id: int | None = None) -> bool:
    t = site.tables["yiti_api_token"]
    cond = t.c.id == ident
    if user_id is not None:
        cond = cond & (t.c.user_id == user_id)
    with site.engine.begin() as conn:
        return conn.execute(update(t).where(cond).values(revoked=True)).rowcount > 0


def tokens_of(site: Site, user_id: int) -> list[dict[str, Any]]:
    t = site.tables["yiti_api_token"]
    with site.engine.connect() as conn:
        rows = conn.execute(select(t.c.id, t.c.label, t.c.scopes, t.c.expires_at,
                                   t.c.created_at, t.c.revoked)
                            .where(t.c.user_id == user_id).order_by(t.c.id)).mappings()
        return [dict(r) for r in rows]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
