"""Who is making this request: a signed-in user (session) or an integration (API token).

:func:`current_actor` is what views pass to the record service:
``current_site().records(current_actor())``. A bearer token wins over a session cookie
(and such requests are exempt from CSRF checks, since browsers never add the header on
their own); a request with neither is anonymous.
"""

from __future__ import annotations

import time
from typing import Any

from flask import g, request, session
from flask_login import UserMixin, current_user

from yiti.errors import YitiError
from yiti.permissions import tokens, users
from yiti.permissions.policy import Actor
from yiti.web.app import current_site

#: Minutes after signing in (or confirming the password) during which sensitive changes
#: (password, permissions, tokens) are allowed without asking for the password again.
FRESH_MINUTES = 10


class Unauthorized(YitiError):
    code = "unauthorized"
    status = 401


class ReauthRequired(YitiError):
    """A sensitive change needs a recent sign-in: confirm the password at /auth/reauth."""

    code = "reauth_required"
    status = 401


class TooManyRequests(YitiError):
    code = "too_many_requests"
    status = 429


class SessionUnavailable(YitiError):
    """The request's session could not be loaded: the session store does not answer."""

    code = "session_unavailable"
    status = 503


class SignedInUser(UserMixin):
    """The Flask-Login user: a row of ``yiti_user`` and the session stamp it was signed
    in with. ``get_id`` carries the stamp, so a changed password ends the session."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.id = row["id"]
        self.name = row["name"]

    def get_id(self) -> str:
        return f"{self.id}:{users.session_stamp(self.row)}"


def load_user(value: str) -> SignedInUser | None:
    """Flask-Login's user loader: the user, if enabled and the stamp still matches."""
    ident, _, stamp = value.partition(":")
    if not ident.isdigit():
        return None
    row = users.user_by_id(current_site(), int(ident))
    if row is None or not row["enabled"] or users.session_stamp(row) != stamp:
        return None
    return SignedInUser(row)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_actor(*, required: bool = True) -> Actor | None:
    """The actor of this request; raises :class:`Unauthorized` when there is none."""
    if "yiti_actor" not in g:
        g.yiti_actor = _find_actor()
    if g.yiti_actor is None and required:
        if bearer_token() is not None:
            raise Unauthorized("the API token is not valid (unknown, revoked or expired)")
        raise_if_session_lost()
        raise Unauthorized("sign in, or send an API token as 'Authorization: Bearer ...'")
    return g.yiti_actor


def _find_actor() -> Actor | None:
    site = current_site()
    token = bearer_token()
    if token is not None:
        found = tokens.token_user(site, token)
        if found is None:
            return None
        row, scopes, roles = found
        g.yiti_user = row
        return users.actor_for(site, row, scopes=scopes, roles=roles)
    if current_user.is_authenticated:
        g.yiti_user = current_user.row
        return users.actor_for(site, current_user.row)
    return None


def raise_if_session_lost() -> None:
    """Raise :class:`SessionUnavailable` (503) when the request came with a session the
    store could not load: the caller may well be signed in, so not a 401."""
    from yiti.web.auth.sessions import UNAVAILABLE, session_lost

    if session_lost():
        from yiti.web import redis_link

        raise SessionUnavailable(UNAVAILABLE, retry_after=redis_link.retry_after())


def current_user_row() -> dict[str, Any] | None:
    """The ``yiti_user`` row of the request's user (session or token), or None."""
    current_actor(required=False)
    return g.get("yiti_user")


def mark_fresh() -> None:
    session["auth_at"] = time.time()


def require_fresh(minutes: int = FRESH_MINUTES) -> None:
    """Refuse a sensitive change unless the user signed in (or confirmed the password)
    in the last ``minutes``. Token requests are never fresh: such changes need a person."""
    current_actor()
    if bearer_token() is not None:
        raise ReauthRequired("this change needs a person signed in with a password, "
                             "not an API token")
    at = session.get("auth_at") or 0
    if time.time() - float(at) > minutes * 60:
        raise ReauthRequired(f"confirm your password first (sign-in older than {minutes} "
                             "minutes): POST /auth/reauth")
