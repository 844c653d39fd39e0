"""``Idempotency-Key`` on POST: a retried request never creates twice.

The key, the user and a hash of the request (method, path, body) are stored with the
response in the same transaction as the change itself, so either both are saved or
neither is. The same key again with the same request returns the stored response (with
``Idempotent-Replayed: true``); with a different request it is refused (422). A request
that failed stores nothing, so it may be retried with the same key. Keys are kept for
:data:`KEEP` and are per user; each process sweeps the expired ones at most every
:data:`SWEEP_SECONDS`, not on every request.

A new key costs one statement before the request's own work: the key is inserted first
(``ON CONFLICT DO NOTHING``); only when it is already there is the stored response read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from flask import Response, request
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from yiti.db import kept_statement, run_kept
from yiti.errors import Conflict, FieldProblem, ValidationError
from yiti.site import Site

KEEP = dt.timedelta(hours=24)
HEADER = "Idempotency-Key"
#: How often a process deletes expired keys (in the transaction of a request).
SWEEP_SECONDS = 60.0
_swept: weakref.WeakKeyDictionary[Site, float] = weakref.WeakKeyDictionary()
_swept_lock = threading.Lock()


def request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def idempotent(site: Site, user: str, run: Callable[[], Response]) -> Response:
    """Run ``run`` once per (user, Idempotency-Key); replay its response afterwards."""
    key = request.headers.get(HEADER)
    if not key:
        return run()
    if len(key) > 255:
        raise ValidationError([FieldProblem(HEADER, "at most 255 characters", "too_long")])
    if not key.isprintable():  # a NUL is refused by PostgreSQL: a 500, not a retry
        raise ValidationError([FieldProblem(HEADER, "must be printable text, without "
                                            "control characters", "invalid")])
    t = site.tables["yiti_idempotency"]
    digest = request_hash()
    now = dt.datetime.now(dt.UTC)
    records = site.records()
    try:
        with records.unit_of_work() as tx:
            if _sweep_due(site):
                tx.conn.execute(delete(t).where(t.c.created_at < now - KEEP))
            # A key stored (or being stored by a request not yet committed, which this
            # waits for) inserts nothing: its response is replayed below.
            dialect = tx.conn.dialect.name
            inserted = run_kept(tx.conn, kept_statement(
                t, ("insert_new", dialect),
                lambda t: _insert_new(dialect, t).returning(t.c.id),
            ), {"user_name": user, "key": key, "request_hash": digest, "created_at": now})
            if not inserted:
                raise _Known()
            ident = inserted[0]["id"]
            response = run()
            if response.status_code >= 400:  # nothing changed: nothing to remember
                raise _Failed(response)
            # sent with the COMMIT: nothing in the transaction reads it back
            tx.with_commit.append((kept_statement(t, "remember", lambda t: update(t).where(
                t.c.id == bindparam("_ident"))), {
                "_ident": ident, "status": response.status_code,
                "body": response.get_data(as_text=True),
                "headers": {k: v for k, v in response.headers.items()
                            if k in ("Location", "ETag", "Content-Type")}}))
    except _Failed as failed:
        return failed.response
    except (_Known, IntegrityError):  # the key is stored, or taken at the same moment
        found = _find(site, user, key)
        if found is None:
            raise Conflict("a request with this Idempotency-Key is in progress; "
                           "retry in a moment") from None
        return _replay(found, digest)
    return response


def _insert_new(dialect: str, t: Any) -> Any:
    """An INSERT that does nothing when the (user, key) row exists."""
    if dialect == "postgresql":
        return pg_insert(t).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite_insert(t).on_conflict_do_nothing()
    return insert(t)  # elsewhere a taken key raises IntegrityError, handled the same way


def _sweep_due(site: Site) -> bool:
    """Whether this process should delete expired keys now (at most every SWEEP_SECONDS)."""
    now = time.monotonic()
    with _swept_lock:
        last = _swept.get(site)
        if last is not None and now - last < SWEEP_SECONDS:
            return False
        _swept[site] = now
        return True


class _Known(Exception):
    """The key is already stored: replay (or refuse) instead of running the request."""


class IdempotencyMismatch(ValidationError):
    """The key was used for another request: a 422 whose top-level ``code`` says so, so a
    client tells it from a refused body without reading ``errors`` (which name the header)."""

    code = "idempotency_mismatch"


class _Failed(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _find(site: Site, user: str, key: str) -> dict | None:
    t = site.tables["yiti_idempotency"]
    with site.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.user_name == user, t.c.key == key)
                           ).mappings().first()
    return dict(row) if row is not None else None


def _replay(found: dict, digest: str) -> Response:
    if found["request_hash"] != digest:
        raise IdempotencyMismatch([FieldProblem(
            HEADER, "this key was used for a different request; use a new key",
            "idempotency_mismatch")])
    if found["status"] is None:
        raise Conflict("a request with this Idempotency-Key is in progress; retry in a moment")
    response = Response(found["body"], status=found["status"])
    for name, value in (found["headers"] or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response

