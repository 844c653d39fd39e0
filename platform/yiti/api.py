"""What a pack's hooks.py may import: the small, documented surface of the engine.

::

    from yiti import api

    @api.hook("loan", "validate")
    def enough_stock(doc, ctx):
        for i, line in enumerate(doc["lines"]):
            item = ctx.records.get("item", line["item"])
            if item["stock"] < line["qty"]:
                raise api.ValidationError(f"only {item['stock']} in stock", field=f"lines[{i}].qty")

Everything else in ``yiti`` may change between releases; this module changes with notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationError
from yiti.jobs import enqueue, job, notify
from yiti.permissions.policy import SYSTEM, Actor
from yiti.records.hooks import EVENTS, MARK, HookContext
from yiti.records.service import Count, Page, Records

if TYPE_CHECKING:
    from yiti.site import Site

F = TypeVar("F", bound=Callable[..., object])

__all__ = [
    "EVENTS", "SYSTEM", "Actor", "Conflict", "Count", "DemoContext", "EndpointContext",
    "EndpointSpec", "FieldProblem", "Forbidden", "HookContext", "NotFound", "Page", "Records",
    "Reply", "ValidationError", "demo_data", "endpoint", "enqueue", "hook", "job", "notify",
]

#: Marker set by :func:`endpoint` (an :class:`EndpointSpec`) on a pack's functions.
ENDPOINT_MARK = "__yiti_endpoint__"
#: Marker set by :func:`demo_data` on a pack's demo data generators.
DEMO_MARK = "__yiti_demo_data__"
AUTH_MODES = ("user", "public")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def hook(entity: str, event: str) -> Callable[[F], F]:
    """Mark ``fn(doc, ctx)`` to run on ``event`` for ``entity`` (``"*"``: every entity).

    Events and when they run are listed in :data:`EVENTS` and in docs/hooks.md.
    """
    if event not in EVENTS:
        from yiti.errors import did_you_mean

        hint = did_you_mean(event, EVENTS)
        raise ValueError(f"unknown event {event!r}" + (f"; {hint}" if hint else ""))

    def mark(fn: F) -> F:
        marks = list(getattr(fn, MARK, ()))
        marks.append((entity, event))
        setattr(fn, MARK, tuple(marks))
        return fn

    return mark


# -- pack API endpoints -------------------------------------------------------------------

@dataclass(frozen=True)
class EndpointSpec:
    """What :func:`endpoint` recorded: the path below ``/api/v1/x/<pack>/`` and who may call."""

    name: str
    methods: tuple[str, ...]
    auth: str
    roles: tuple[str, ...]
    fn: Callable[[EndpointContext], Any]


@dataclass
class Reply:
    """An endpoint's answer when 200 with a JSON body is not enough: ``Reply(body, 201)``."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class EndpointContext:
    """What an endpoint function gets: the request's data and the record services.

    ``records`` acts as the caller (their roles, row and field rules apply); ``system``
    acts as the system and is for the trusted rules of the pack (reserve stock, price an
    order) once the endpoint has decided the caller may do what it asks. Everything an
    endpoint does through either runs in one transaction, committed when it returns.
    """

    site: Site
    pack: str
    name: str
    method: str
    actor: Actor | None
    json: Any
    body: bytes
    args: Mapping[str, str]
    headers: Mapping[str, str]

    @property
    def user(self) -> str | None:
        """The caller's user name; None on a public endpoint."""
        return self.actor.name if self.actor is not None else None

    @property
    def records(self) -> Records:
        """The record service as the caller."""
        if self.actor is None:
            raise Forbidden(f"endpoint {self.pack}/{self.name} is public: it has no caller "
                            "to act as; use ctx.system after checking the request")
        return self.site.records(self.actor)

    @property
    def system(self) -> Records:
        """The record service as the system (no permission checks): for trusted pack rules."""
        return self.site.records(SYSTEM)

    def now(self) -> dt.datetime:
        """The current time (UTC): the job layer's clock, so tests can move it."""
        jobs = getattr(self.site, "jobs", None)
        clock = getattr(jobs, "clock", None)
        return clock.now() if clock is not None else dt.datetime.now(dt.UTC)

    def body_object(self) -> dict[str, Any]:
        """The JSON body as a dict; a 422 naming ``body`` when it is anything else."""
        if self.json is None and not self.body:
            return {}
        if not isinstance(self.json, dict):
            raise ValidationError("send a JSON object with Content-Type: application/json",
                                  field="body")
        return self.json


def endpoint(name: str, *, methods: Sequence[str] = ("POST",), auth: str = "user",
             roles: Sequence[str] = ()) -> Callable[[F], F]:
    """Mark ``fn(ctx)`` as the endpoint ``/api/v1/x/<pack>/<name>`` (see docs/hooks.md).

    ``auth="user"``: a signed-in user or an API token (401 otherwise; a session needs the
    CSRF token on writes); ``roles`` limits it to those roles (and Administrators) — to
    anyone else it does not exist (404). ``auth="public"``: anyone, with no identity at all
    (the session is ignored, so no CSRF token is needed): for payment callbacks and the
    like, which must check their own signature. A POST from a known user honours
    ``Idempotency-Key`` as ``/api/v1`` does. ``fn`` returns JSON-able data (200) or a
    :class:`Reply`; errors it raises become problem+json responses.
    """
    if auth not in AUTH_MODES:
        raise ValueError(f"auth must be one of {AUTH_MODES}, not {auth!r}")
    bad = [m for m in methods if m.upper() not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be some of {METHODS}, not {list(methods)!r}")
    if auth == "public" and roles:
        raise ValueError("a public endpoint has no caller, so it can't require roles")
    parts = name.split("/")
    if not all(p and p.replace("_", "").replace("-", "").isalnum() and p.isascii()
               for p in parts):
        raise ValueError(f"endpoint name {name!r}: use letters, digits, '_' and '-', "
                         "segments separated by '/' (e.g. 'cart/quote')")

    def mark(fn: F) -> F:
        spec = EndpointSpec(name, tuple(m.upper() for m in methods), auth, tuple(roles), fn)
        setattr(fn, ENDPOINT_MARK, spec)
        return fn

    return mark


# -- demo data ----------------------------------------------------------------------------

@dataclass
class DemoContext:
    """What a demo data generator gets: the system's record service and the site."""

    site: Site
    records: Records


def demo_data(fn: F) -> F:
    """Mark ``fn(ctx: DemoContext) -> int`` to run by ``yiti demo`` after the pack's fixtures.

    It returns how many records it created, and must be safe to run again (create nothing
    the second time) and deterministic (seeded randomness), so every demo site is the same.
    """
    setattr(fn, DEMO_MARK, True)
    return fn
