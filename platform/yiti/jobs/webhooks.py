"""Outgoing webhooks declared in packs (``webhooks/*.yaml``), sent after commit by a job.

A record event (created, updated, submitted, cancelled, deleted, and ``transition`` fired
by the workflow engine through :func:`emit`) whose entity and event match a webhook, and
whose ``condition`` holds, enqueues one delivery job in the record's own transaction: no
delivery for a change that rolled back. The job POSTs the event as JSON, signed with
HMAC-SHA256 over ``timestamp + "." + body`` (header ``X-Yiti-Signature: t=...,v1=...``),
logs each attempt in ``yiti_webhook_delivery`` and retries with back-off until the
receiver answers 2xx. Receivers deduplicate on ``X-Yiti-Delivery`` (the event id).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from yiti.errors import NotFound, did_you_mean
from yiti.jobs.jsonable import dumps, jsonable
from yiti.jobs.registry import job
from yiti.records.transaction import current, reading, transaction

if TYPE_CHECKING:
    from yiti.jobs.runner import JobContext
    from yiti.jobs.service import Jobs
    from yiti.records.hooks import HookContext
    from yiti.site import Site

log = logging.getLogger("yiti.jobs.webhooks")

EVENTS = ("created", "updated", "submitted", "cancelled", "deleted", "transition")
DELIVER = "yiti.webhook"
_TRANSITION = "yiti_webhook_transition"


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx (the job retries)."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Yiti-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, tolerance: float = 300,
           now: float | None = None) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` s old."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def declared(site: Site) -> dict[str, Mapping[str, Any]]:
    """Every webhook's definition by name."""
    return {name: d.body for name, d in site.model.extra.get("webhooks", {}).items()}


def install(jobs: Jobs) -> None:
    """Hook record events for the declared webhooks (compiling their conditions now)."""
    site = jobs.site
    hooks = declared(site)
    if not hooks:
        return
    from yiti.scripting import compile_expression

    for name, body in hooks.items():
        if body.get("condition"):
            compile_expression(str(body["condition"]), name=f"webhook {name}")

    def saved(doc: dict[str, Any], ctx: HookContext) -> None:
        tx = current(site.engine)
        marks = tx.state.get(_TRANSITION, {}) if tx else {}
        ident = doc.get("id")
        event = marks.pop((ctx.entity, ident), None) if isinstance(marks, dict) else None
        if event is None:
            event = "created" if ctx.old is None else "updated"
        record = dict(doc)
        if event in ("submitted", "cancelled"):
            record["docstatus"] = event
        emit(site, ctx.entity, event, record, user=ctx.user)

    def transition(event: str):  # noqa: ANN202
        def mark(doc: dict[str, Any], ctx: HookContext) -> None:
            tx = current(site.engine)
            if tx is not None:
                tx.state.setdefault(_TRANSITION, {})[(ctx.entity, doc.get("id"))] = event  # type: ignore[index]
        return mark

    def deleted(doc: dict[str, Any], ctx: HookContext) -> None:
        emit(site, ctx.entity, "deleted", dict(doc), user=ctx.user)

    site.hooks.add("*", "after_save", saved)
    site.hooks.add("*", "on_submit", transition("submitted"))
    site.hooks.add("*", "on_cancel", transition("cancelled"))
    site.hooks.add("*", "after_delete", deleted)


def emit(site: Site, entity: str, event: str, record: Mapping[str, Any], *,
         user: str | None = None, extra: Mapping[str, Any] | None = None) -> list[int]:
    """Enqueue a delivery for each webhook that wants ``event`` on ``entity``; job ids.

    Call it inside the transaction that made the change (the workflow engine does, with
    ``event="transition"`` and ``extra={"from": ..., "to": ..., "action": ...}``).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; one of {', '.join(EVENTS)}")
    from yiti.jobs import jobs_of

    wanted = [(n, b) for n, b in declared(site).items()
              if b.get("entity") == entity and event in (b.get("events") or EVENTS)]
    if not wanted:
        return []
    jobs = jobs_of(site)
    overrides = _overrides(site)
    ids = []
    data = jsonable(dict(record))
    for name, body in wanted:
        enabled = overrides.get(name)
        if not (body.get("enabled", True) if enabled is None else enabled):
            continue
        if not _holds(name, body, record):
            continue
        event_id = uuid.uuid4().hex
        fields = body.get("fields")
        sent = {k: v for k, v in data.items() if k in fields or k in ("id", "name")} \
            if fields else data
        payload = {"webhook": name, "event": event, "event_id": event_id, "entity": entity,
                   "record_id": record.get("id"), "occurred_at": jobs.now().isoformat(),
                   "user": user, "record": sent, "extra": jsonable(dict(extra or {}))}
        ids.append(jobs.enqueue(DELIVER, payload, key=f"webhook:{event_id}",
                                max_attempts=body.get("max_attempts")))
    return ids


def _holds(name: str, body: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    condition = body.get("condition")
    if not condition:
        return True
    from yiti.scripting import compile_expression, record_names

    values = {k: v for k, v in record.items() if not isinstance(v, list)}
    children = {k: v for k, v in record.items() if isinstance(v, list)}
    try:
        return bool(compile_expression(str(condition), name=f"webhook {name}")
                    .evaluate(record_names(values, children)))
    except Exception:
        log.exception("webhook %s: its condition failed; nothing sent", name)
        return False


def _overrides(site: Site) -> dict[str, bool | None]:
    t = site.tables["yiti_webhook"]
    with reading(site.engine) as conn:
        return {r.name: r.enabled for r in conn.execute(select(t.c.name, t.c.enabled))}


def secret_for(site: Site, name: str) -> str:
    """The webhook's signing secret: from ``secret_env``, or made once and kept in the database."""
    body = declared(site).get(name)
    if body is None:
        raise NotFound(f"no webhook {name!r}" + (
            f"; {h}" if (h := did_you_mean(name, declared(site))) else ""))
    if body.get("secret_env"):
        value = os.environ.get(str(body["secret_env"]))
        if not value:
            raise RuntimeError(f"webhook {name}: environment variable {body['secret_env']} "
                               "holding its secret is not set")
        return value
    t = site.tables["yiti_webhook"]
    with transaction(site.engine) as tx:
        found = tx.conn.execute(select(t.c.secret).where(t.c.name == name)).scalar()
        if found:
            return str(found)
        try:
            with tx.conn.begin_nested():
                tx.conn.execute(insert(t).values(name=name, secret=secrets.token_urlsafe(32)))
        except IntegrityError:
            pass
        return str(tx.conn.execute(select(t.c.secret).where(t.c.name == name)).scalar_one())


def set_enabled(site: Site, name: str, enabled: bool | None) -> None:
    secret_for(site, name)  # makes the row (and checks the name)
    t = site.tables["yiti_webhook"]
    with transaction(site.engine) as tx:
        tx.conn.execute(update(t).where(t.c.name == name).values(enabled=enabled))


@job(DELIVER, transactional=False, max_attempts=8)
def deliver(ctx: JobContext) -> dict[str, Any]:
    """Send one event to one webhook; raise (so the job retries) unless the answer is 2xx."""
    site, p = ctx.site, ctx.payload
    body_def = declared(site).get(p["webhook"])
    if body_def is None:
        from yiti.jobs.runner import PermanentError

        raise PermanentError(f"webhook {p['webhook']!r} is no longer declared")
    body = dumps({"id": p["event_id"], "webhook": p["webhook"], "event": p["event"],
                  "entity": p["entity"], "record_id": p["record_id"],
                  "occurred_at": p["occurred_at"], "user": p.get("user"),
                  "data": p["record"], "extra": p.get("extra") or {}}).encode()
    timestamp = int(ctx.now().timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8", "User-Agent": "Yiti-Webhook/1",
        "X-Yiti-Event": f"{p['entity']}.{p['event']}", "X-Yiti-Delivery": p["event_id"],
        "X-Yiti-Attempt": str(ctx.attempt),
        "X-Yiti-Signature": sign(secret_for(site, p["webhook"]), body, timestamp),
    }
    request = urllib.request.Request(str(body_def["url"]), data=body, headers=headers,
                                      method="POST")
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        with urllib.request.urlopen(request, timeout=ctx.jobs.settings.webhook_timeout) as r:
            status = r.status
    except urllib.error.HTTPError as failure:
        status, error = failure.code, f"HTTP {failure.code} {failure.reason}"
        failure.close()
    except (urllib.error.URLError, OSError) as failure:
        error = f"{type(failure).__name__}: {getattr(failure, 'reason', failure)}"
    duration = int((time.monotonic() - started) * 1000)
    deliveries = site.tables["yiti_webhook_delivery"]
    with transaction(site.engine) as tx:
        tx.conn.execute(insert(deliveries).values(
            webhook=p["webhook"], event_id=p["event_id"], event=p["event"], entity=p["entity"],
            record_id=p["record_id"], job_id=ctx.id, attempt=ctx.attempt, at=ctx.now(),
            status_code=status, duration_ms=duration, error=error))
    if error is not None or status is None or not 200 <= status < 300:
        raise DeliveryFailed(error or f"HTTP {status}")
    return {"status": status, "duration_ms": duration}


def deliveries(site: Site, *, webhook: str | None = None, limit: int = 50
               ) -> list[dict[str, Any]]:
    t = site.tables["yiti_webhook_delivery"]
    query = select(t).order_by(t.c.id.desc()).limit(limit)
    if webhook:
        query = query.where(t.c.webhook == webhook)
    with reading(site.engine) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
