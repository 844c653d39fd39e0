"""``Idempotency-Key`` on POST: a retried request never creates twice.

The key, the user and a hash of the request (method, path, body) are stored with the
response in the same transaction as the change itself, so either both are saved or
neither is. The same key again with the same request returns the stored response (with
``Idempotent-Replayed: true``); with a different request it is refused (422). A request
that failed stores nothing, so it may be retried with the same key. Keys are kept for
:data:`KEEP` and are per user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from flask import Response, request
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from yiti.errors import Conflict, FieldProblem, ValidationError
from yiti.site import Site

KEEP = dt.timedelta(hours=24)
HEADER = "Idempotency-Key"


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
    t = site.tables["yiti_idempotency"]
    digest = request_hash()
    now = dt.datetime.now(dt.UTC)
    found = _find(site, user, key)
    if found is not None:
        return _replay(found, digest)
    records = site.records()
    try:
        with records.unit_of_work() as tx:
            tx.conn.execute(delete(t).where(t.c.created_at < now - KEEP))
            ident = tx.conn.execute(insert(t).values(
                user_name=user, key=key, request_hash=digest, created_at=now
            ).returning(t.c.id)).scalar_one()
            response = run()
            if response.status_code >= 400:  # nothing changed: nothing to remember
                raise _Failed(response)
            tx.conn.execute(update(t).where(t.c.id == ident).values(
                status=response.status_code, body=response.get_data(as_text=True),
                headers={k: v for k, v in response.headers.items()
                         if k in ("Location", "ETag", "Content-Type")}))
    except _Failed as failed:
        return failed.response
    except IntegrityError:  # the same key, at the same moment, in another request
        found = _find(site, user, key)
        if found is None:
            raise Conflict("a request with this Idempotency-Key is in progress; "
                           "retry in a moment") from None
        return _replay(found, digest)
    return response


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
        raise ValidationError([FieldProblem(
            HEADER, "this key was used for a different request; use a new key",
            "idempotency_mismatch")])
    if found["status"] is None:
        raise Conflict("a request with this Idempotency-Key is in progress; retry in a moment")
    response = Response(found["body"], status=found["status"])
    for name, value in (found["headers"] or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response

