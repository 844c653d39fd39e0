"""Server-side sessions: in Redis when the site has ``REDIS_URL``, else in the database.

The browser holds only a random session id (HttpOnly, SameSite=Lax, Secure over HTTPS or
when ``SESSION_COOKIE_SECURE`` is set); the data stays on the server, so signing out,
changing a password or an administrator disabling a user really ends the session.
Database sessions (``yiti_session``) remember their user, so a password change deletes
them all; any backend also checks the session's stamp against the user's current one.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from flask import Flask, has_request_context, request
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.redis import RedisSessionInterface
from sqlalchemy import delete, insert, select, update

from yiti.site import Site

UTC = dt.UTC
COOKIE_NAME = "yiti_session"
#: A session ends this long after sign-in, whatever happens in between.
SESSION_HOURS = 12


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
    pass


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
    if site.settings.redis_url:
        import redis

        client = redis.Redis.from_url(site.settings.redis_url)
        app.session_interface = SecureRedisSessionInterface(app, client,
                                                            key_prefix="yiti:session:")
    else:
        app.session_interface = DatabaseSessionInterface(app, site)
