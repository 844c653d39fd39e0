"""Server-side sessions: in Redis when the site has ``REDIS_URL``, else in the database.

The browser holds only a random session id (HttpOnly, SameSite=Lax, Secure over HTTPS or
when ``SESSION_COOKIE_SECURE`` is set); the data stays on the server, so signing out,
changing a password or an administrator disabling a user really ends the session.
Database sessions (``yiti_session``) remember their user, so a password change deletes
them all; any backend also checks the session's stamp against the user's current one.

Redis sessions go through the app's :class:`~yiti.web.redis_link.RedisLink` (a short
timeout, a pause after a failure, one warning per outage). While Redis is away:

- a session that cannot be loaded is an empty, read-only one: the visitor is signed out
  for this request (pages send them to the sign-in page, which says sign-in is
  unavailable for a moment; the API answers 503), and the session is neither written
  (that would replace the real one once Redis is back) nor is its cookie touched, so the
  visitor is signed in again as soon as Redis answers;
- a session that cannot be saved sets no cookie; if the request signed somebody in (or
  confirmed a password), its answer becomes a 503 saying sign-in is unavailable, never a
  redirect that looks signed in; signing out forgets the cookie all the same;
- requests with an API token and anonymous ones never need the store and work as usual.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from flask import Flask, Request, Response, current_app, has_request_context, request, session
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from sqlalchemy import delete, insert, select, update

from yiti.site import Site
from yiti.web.redis_link import RedisLink, Unavailable, app_link

UTC = dt.UTC
COOKIE_NAME = "yiti_session"
#: A session ends this long after sign-in, whatever happens in between.
SESSION_HOURS = 12
#: What a visitor is told while the session store cannot be reached.
UNAVAILABLE = ("Sign-in is unavailable for a moment (the session store does not answer). "
               "Try again in a minute.")
#: The session keys that say who is signed in and how recently: a request that changed
#: them and could not store them must not answer as if it had.
IDENTITY_KEYS = ("_user_id", "auth_at")


class SecureCookieMixin:
    """Mark the cookie Secure when configured, or when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        return has_request_context() and request.is_secure


class DatabaseSessionInterface(SecureCookieMixin, ServerSideSessionInterface):
    """Sessions in the ``yiti_session`` table; expired ones are swept now and then."""

    ttl = False

    def __init__(self, app: Flask, site: Site) -> None:
        self.site = site
        self.table = site.tables["yiti_session"]
        super().__init__(app, key_prefix="", use_signer=False, permanent=True,
                         sid_length=32, serialization_format="msgpack",
                         cleanup_n_requests=500)

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        t = self.table
        with self.site.engine.connect() as conn:
            row = conn.execute(select(t.c.data, t.c.expires_at).where(t.c.id == store_id)
                               ).first()
        if row is None or row.expires_at <= dt.datetime.now(UTC):
            return None
        return self.serializer.decode(row.data)

    def _delete_session(self, store_id: str) -> None:
        with self.site.engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.id == store_id))

    def _upsert_session(self, session_lifetime: dt.timedelta, session: ServerSideSession,
                        store_id: str) -> None:
        t = self.table
        data = self.serializer.encode(session)
        expires = dt.datetime.now(UTC) + session_lifetime
        user = str(session.get("_user_id") or "").partition(":")[0] or None
        with self.site.engine.begin() as conn:
            done = conn.execute(update(t).where(t.c.id == store_id).values(
                data=data, expires_at=expires, user_id=user))
            if done.rowcount == 0:
                conn.execute(insert(t).values(id=store_id, data=data, expires_at=expires,
                                              user_id=user))

    def _delete_expired_sessions(self) -> None:
        with self.site.engine.begin() as conn:
            conn.execute(delete(self.table).where(
                self.table.c.expires_at <= dt.datetime.now(UTC)))


class SecureRedisSessionInterface(SecureCookieMixin, RedisSessionInterface):
    """Sessions in Redis under ``yiti:session:<id>`` (``key_prefix``), reached through
    ``link``; what happens while Redis is away is said in the module's docstring."""

    def __init__(self, app: Flask, link: RedisLink, key_prefix: str = "yiti:session:"
                 ) -> None:
        self.link = link
        super().__init__(app, link.client, key_prefix=key_prefix)

    def open_session(self, app: Flask, request: Request) -> ServerSideSession:
        try:
            opened = super().open_session(app, request)
        except Unavailable:
            sid = request.cookies.get(self.get_cookie_name(app)) or ""
            opened = self.session_class(sid=sid, permanent=self.permanent)
            opened.unavailable = True  # type: ignore[attr-defined]
            return opened
        opened.identity = _identity(opened)  # type: ignore[attr-defined]
        return opened

    def save_session(self, app: Flask, session: ServerSideSession, response: Response
                     ) -> None:
        if getattr(session, "unavailable", False):
            return  # read-only: the real one is still in Redis, and so is the cookie's id
        try:
            super().save_session(app, session, response)
        except Unavailable:
            if not session:  # signing out: this browser forgets the session anyway
                response.delete_cookie(self.get_cookie_name(app),
                                       domain=self.get_cookie_domain(app),
                                       path=self.get_cookie_path(app))
            elif _identity(session) != getattr(session, "identity", None):
                refuse_sign_in(response)

    def regenerate(self, session: ServerSideSession) -> None:
        try:
            super().regenerate(session)
        except Unavailable:  # the old id is not deleted; the new one will not be stored
            session.sid = self._generate_sid(self.sid_length)
            session.modified = True

    def _retrieve_session_data(self, store_id: str) -> dict[str, Any] | None:
        data = self.link.call(self.client.get, store_id)
        return self.serializer.decode(data) if data else None

    def _delete_session(self, store_id: str) -> None:
        self.link.call(self.client.delete, store_id)

    def _upsert_session(self, session_lifetime: dt.timedelta, session: ServerSideSession,
                        store_id: str) -> None:
        self.link.call(self.client.set, store_id, self.serializer.encode(session),
                       ex=int(session_lifetime.total_seconds()))


def _identity(data: ServerSideSession) -> tuple[Any, ...]:
    """Who is signed in and since when (read without marking the session accessed, which
    would add ``Vary: Cookie`` to every answer)."""
    return tuple(dict.get(data, key) for key in IDENTITY_KEYS)


def sessions_unavailable() -> bool:
    """Whether the session store cannot be reached: this request's session could not be
    loaded, or Redis failed lately and does not answer yet."""
    if session_lost():
        return True
    link = getattr(current_app.session_interface, "link", None)
    return link is not None and not link.available()


def session_lost() -> bool:
    """Whether this request came with a session that could not be loaded."""
    return bool(getattr(session, "unavailable", False))


def unavailable_response() -> Response:
    """The answer to a request that needs the session store while it cannot be reached:
    a 503 problem for the API and JSON callers, else a page; ``Retry-After`` either way."""
    response = Response()
    refuse_sign_in(response)
    return response


def refuse_sign_in(response: Response) -> None:
    """Turn ``response`` (a redirect that would say "signed in") into a 503 saying the
    session store cannot be reached, in place (it may be in Flask's hands already)."""
    from flask import render_template

    from yiti.web import redis_link

    response.status_code = 503
    response.headers.pop("Location", None)
    response.headers["Retry-After"] = str(redis_link.retry_after())
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        from yiti.web.api.problems import problem

        shape = problem(503, "session_unavailable", "Service unavailable", UNAVAILABLE)
        response.set_data(shape.get_data())
        response.mimetype = shape.mimetype
        return
    back = request.values.get("next") or (request.full_path.rstrip("?")
                                          if request.method == "GET" else request.path)
    response.set_data(render_template("auth/unavailable.html", message=UNAVAILABLE,
                                      next=back))
    response.mimetype = "text/html"


def configure_sessions(app: Flask, site: Site) -> None:
    """Install the session interface for ``site`` (Redis when configured)."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME=COOKIE_NAME,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        # An absolute lifetime: a session is not written back on every request.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    if os.environ.get("YITI_SECURE_COOKIES", "").lower() in ("1", "true", "yes"):
        app.config["SESSION_COOKIE_SECURE"] = True
    link = app_link(app)
    if link is not None:
        app.session_interface = SecureRedisSessionInterface(app, link)
    else:
        app.session_interface = DatabaseSessionInterface(app, site)
