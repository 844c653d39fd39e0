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
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationError
from yiti.jobs import enqueue, job, notify
from yiti.messages import Message
from yiti.permissions.policy import SYSTEM, Actor
from yiti.permissions.users import users_with_role
from yiti.records.hooks import EVENTS, MARK, HookContext
from yiti.records.service import Count, Page, Records
from yiti.times import site_now

if TYPE_CHECKING:
    from yiti.site import Site

F = TypeVar("F", bound=Callable[..., object])

__all__ = [
    "EVENTS", "GUEST", "SYSTEM", "Actor", "Conflict", "Count", "DemoContext",
    "EndpointContext", "EndpointSpec", "FieldProblem", "Forbidden", "HookContext", "NotFound",
    "Page", "PageContext", "PageSpec", "Records", "Rendered", "Reply", "ValidationError",
    "act", "action_effects", "create_with_action", "demo_data", "endpoint", "enqueue", "hook",
    "job", "lock", "message", "notify", "page", "render", "users_with_role",
]

#: A message for people, said in the reader's language where the pack's ``i18n/<lang>.po``
#: translates its template: ``api.message("only %(n)s left", n=2)`` (docs/hooks.md,
#: "Messages in the reader's language"). It is the English ``str`` everywhere else.
message = Message

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


def act(records: Records, entity: str, ident: int | str, action: str, *,
        comment: str | None = None, inputs: Mapping[str, Any] | None = None,
        version: int | None = None, at: dt.datetime | None = None) -> dict[str, Any]:
    """Take the workflow action ``action`` on a record as ``records``' actor, in the
    caller's transaction, exactly as its button or ``POST .../actions/<action>`` does
    (docs/workflow.md): 409 from the wrong state or when its condition does not hold, 403
    when the actor may not take it, 422 for a missing reason or input; its history row
    names the actor. ``inputs`` are the values the transition declares; ``version`` the
    version the caller read; ``at`` (the system only) backdates it. The record as stored
    afterwards."""
    from yiti.workflow import workflows_of

    return workflows_of(records.site).act(records.actor, entity, ident, action,
                                          comment=comment, inputs=inputs, version=version,
                                          at=at)


def create_with_action(records: Records, entity: str, values: Mapping[str, Any],
                       action: str, *, comment: str | None = None,
                       inputs: Mapping[str, Any] | None = None, at: dt.datetime | None = None,
                       behalf: str | None = None) -> dict[str, Any]:
    """Create a record and take the workflow ``action`` from its initial state at once, as
    ``records``' actor: one insert, in the state the action enters, and a history row that
    starts the record's history with the action (docs/workflow.md, "Creating through an
    action"). Refused as :func:`act` refuses; ``at`` and ``behalf`` (the user the system
    acts for, kept as the history's ``on_behalf_of``) are the system's only."""
    from yiti.workflow import workflows_of

    return workflows_of(records.site).create(records.actor, entity, values, action,
                                             comment=comment, inputs=inputs, at=at,
                                             behalf=behalf)


def action_effects(entity: str, ident: int) -> AbstractContextManager[None]:
    """``with api.action_effects("sales_order", order["id"]):`` the writes to that record
    inside are the effects of a workflow action the caller has just taken in the same
    transaction, as a hook's would be: fields the state locks (``editable``) may change."""
    from yiti.workflow.engine import effects

    return effects(entity, ident)


def lock(records: Records, entity: str, ident: int | str) -> dict[str, Any]:
    """Lock a record's row until the caller's transaction ends and return the record as
    now committed, read as ``records``' actor (one they may not read is ``NotFound`` and
    is not locked). Concurrent callers locking the same record take turns: the second
    waits for the first's transaction, then gets what it committed (docs/hooks.md, "Taking
    turns on a record"). PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite: a writing
    transaction is already the database's only writer. Outside a transaction it raises
    (the lock would end at once)."""
    from yiti.records.locks import lock as take

    return take(records, entity, ident)


# -- pack API endpoints -------------------------------------------------------------------

@dataclass(frozen=True)
class EndpointSpec:
    """What :func:`endpoint` recorded: the path below ``/api/v1/x/<pack>/`` and who may call."""

    name: str
    methods: tuple[str, ...]
    auth: str
    roles: tuple[str, ...]
    fn: Callable[[EndpointContext], Any]
    #: One line for the OpenAPI document (default: the first line of the docstring).
    summary: str | None = None
    #: JSON Schema of the request: the body, or for GET the query parameters (an object).
    request: Mapping[str, Any] | None = None
    #: JSON Schema of a successful answer's body.
    response: Mapping[str, Any] | None = None
    #: Seconds a public GET's answer may be kept for callers without an identity.
    cache_seconds: int = 0
    #: The success status it answers (None: 200 for GET, undeclared for other methods).
    status: int | None = None
    #: The error statuses its function may answer (None: every one a pack endpoint can).
    errors: tuple[int, ...] | None = None


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
        return site_now(self.site)

    def body_object(self) -> dict[str, Any]:
        """The JSON body as a dict; a 422 naming ``body`` when it is anything else."""
        if self.json is None and not self.body:
            return {}
        if not isinstance(self.json, dict):
            raise ValidationError("send a JSON object with Content-Type: application/json",
                                  field="body")
        return self.json


def endpoint(name: str, *, methods: Sequence[str] = ("POST",), auth: str = "user",
             roles: Sequence[str] = (), summary: str | None = None,
             request: Mapping[str, Any] | None = None,
             response: Mapping[str, Any] | None = None,
             cache_seconds: int = 0, status: int | None = None,
             errors: Sequence[int] | None = None) -> Callable[[F], F]:
    """Mark ``fn(ctx)`` as the endpoint ``/api/v1/x/<pack>/<name>`` (see docs/hooks.md).

    ``auth="user"``: a signed-in user or an API token (401 otherwise; a session needs the
    CSRF token on writes); ``roles`` limits it to those roles (and Administrators) — to
    anyone else it does not exist (404). ``auth="public"``: anyone, with no identity at all
    (the session is ignored, so no CSRF token is needed): for payment callbacks and the
    like, which must check their own signature. A POST from a known user honours
    ``Idempotency-Key`` as ``/api/v1`` does. ``fn`` returns JSON-able data (200) or a
    :class:`Reply`; errors it raises become problem+json responses.

    For the OpenAPI document (``/api/v1/openapi.json``): ``summary`` (default: the first
    line of the docstring), ``request`` (a JSON Schema of the body, or with GET of the
    query parameters; a request that does not match is refused with 422 naming the field
    before ``fn`` runs) and ``response`` (a JSON Schema of a successful answer's body).
    ``status`` is the success status ``fn`` answers (``201`` with a :class:`Reply`;
    default 200 for GET, and for other methods any 2XX) and ``errors`` the error statuses
    it may answer itself (``(404, 409)``; default: every one a pack endpoint can). The
    document lists those, plus what the engine itself may answer (422; 401 and 403 with
    ``auth="user"``, 404 with ``roles``, 409 on a user's POST, 429 on writes).

    ``cache_seconds`` > 0 (public endpoints answering GET only) lets browsers and the
    server keep a 200 answer to a GET that long, for callers with no session user and no
    API token, keyed by path, query and language (see docs/hooks.md): for catalogue reads
    whose data may be a few seconds old.
    """
    if auth not in AUTH_MODES:
        raise ValueError(f"auth must be one of {AUTH_MODES}, not {auth!r}")
    bad = [m for m in methods if m.upper() not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods must be some of {METHODS}, not {list(methods)!r}")
    if auth == "public" and roles:
        raise ValueError("a public endpoint has no caller, so it can't require roles")
    _check_cache_seconds(cache_seconds)
    errors = _check_statuses(name, status, errors)
    if cache_seconds and status not in (None, 200):
        raise ValueError(f"endpoint {name!r}: only a 200 answer is cached, so a cached "
                         f"endpoint answers 200, not {status!r}")
    if cache_seconds and (auth != "public" or [m for m in methods if m.upper() != "GET"]):
        raise ValueError("only public GET endpoints may be cached: a user's answer is theirs "
                         "alone, and a write must reach the server")
    parts = name.split("/")
    if not all(p and p.replace("_", "").replace("-", "").isalnum() and p.isascii()
               for p in parts):
        raise ValueError(f"endpoint name {name!r}: use letters, digits, '_' and '-', "
                         "segments separated by '/' (e.g. 'cart/quote')")

    for what, schema in (("request", request), ("response", response)):
        if schema is not None:
            _check_schema(name, what, schema)

    def mark(fn: F) -> F:
        spec = EndpointSpec(name, tuple(m.upper() for m in methods), auth, tuple(roles), fn,
                            summary, request, response, cache_seconds=cache_seconds,
                            status=status, errors=errors)
        setattr(fn, ENDPOINT_MARK, spec)
        return fn

    return mark


def _check_cache_seconds(cache_seconds: object) -> None:
    if isinstance(cache_seconds, bool) or not isinstance(cache_seconds, int) \
            or not 0 <= cache_seconds <= 86400:
        raise ValueError(f"cache_seconds must be a whole number from 0 to 86400, "
                         f"not {cache_seconds!r}")


def _check_statuses(name: str, status: object, errors: object) -> tuple[int, ...] | None:
    """Refuse a success or error status that is not one (a typo would otherwise only
    show as a wrong document); the errors, sorted and without repeats."""
    from http import HTTPStatus

    statuses = {int(s) for s in HTTPStatus}

    def known(code: object, low: int, high: int) -> bool:
        return isinstance(code, int) and not isinstance(code, bool) \
            and low <= code <= high and code in statuses

    if status is not None and not known(status, 200, 299):
        raise ValueError(f"endpoint {name!r}: status must be an HTTP success status "
                         f"(200, 201, 202, 204...), not {status!r}")
    if errors is None:
        return None
    if isinstance(errors, (str, bytes, int)) or not isinstance(errors, Sequence):
        raise ValueError(f"endpoint {name!r}: errors must be a list of HTTP error "
                         f"statuses such as (404, 409, 422), not {errors!r}")
    bad = [code for code in errors if not known(code, 400, 599)]
    if bad:
        raise ValueError(f"endpoint {name!r}: errors must be HTTP error statuses "
                         f"(400-599, e.g. 404, 409, 422), not {bad!r}")
    return tuple(sorted(set(errors)))


def _check_schema(name: str, what: str, schema: Mapping[str, Any]) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as error:
        raise ValueError(f"endpoint {name!r}: {what} is not a JSON Schema: "
                         f"{error.message}") from None
    if what == "request" and schema.get("type", "object") != "object":
        raise ValueError(f"endpoint {name!r}: the request schema must describe an object "
                         "(the JSON body, or the query parameters of a GET)")


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


# -- pack pages ---------------------------------------------------------------------------

#: Marker set by :func:`page` (a :class:`PageSpec`) on a pack's functions.
PAGE_MARK = "__yiti_page__"
#: Who public pages read as: the role ``Guest``, which a pack grants what anyone may see
#: (its catalogue, say). Never the system: permissions, row and field rules still apply.
GUEST = Actor("guest", frozenset({"Guest"}), anonymous=True)


@dataclass(frozen=True)
class PageSpec:
    """What :func:`page` recorded: the path below ``/p/<pack>/`` and who may see it."""

    path: str
    auth: str
    cache_seconds: int
    roles: tuple[str, ...]
    fn: Callable[[PageContext], Rendered]


@dataclass
class Rendered:
    """A page function's answer: a template of the pack and what it shows."""

    template: str
    context: dict[str, Any]
    status: int = 200


def render(template: str, status: int = 200, **context: Any) -> Rendered:
    """Render ``template`` (from the pack's ``templates/`` folder, in the site's theme
    environment: autoescaped, with ``csp_nonce()``, ``csrf_token()``, ``_()``) with
    ``context``."""
    return Rendered(template, context, status)


@dataclass
class PageContext:
    """What a page function gets: the request's data and the record services.

    ``records`` acts as the signed-in user on ``auth="user"`` pages and as :data:`GUEST`
    on public ones (whoever is signed in), so a public page shows everyone the same thing
    and may be cached.
    """

    site: Site
    pack: str
    path: str
    actor: Actor | None
    params: Mapping[str, str]
    args: Mapping[str, str]
    headers: Mapping[str, str]
    lang: str

    @property
    def user(self) -> str | None:
        """The signed-in user's name; None on a public page."""
        return self.actor.name if self.actor is not None else None

    @property
    def records(self) -> Records:
        """The record service as the user (``auth="user"``) or as :data:`GUEST`."""
        return self.site.records(self.actor or GUEST)

    @property
    def system(self) -> Records:
        """The record service as the system: for the pack's trusted rules only."""
        return self.site.records(SYSTEM)

    def now(self) -> dt.datetime:
        """The current time (UTC): the job layer's clock, so tests can move it."""
        return site_now(self.site)


def page(path: str, *, auth: str = "public", cache_seconds: int = 0,
         roles: Sequence[str] = ()) -> Callable[[F], F]:
    """Mark ``fn(ctx: PageContext) -> Rendered`` as the page ``/p/<pack>/<path>``.

    ``path`` is segments of letters, digits, ``_`` and ``-`` separated by ``/``; a segment
    ``<name>`` captures a value into ``ctx.params`` (``"product/<code>"``); ``""`` is the
    pack's home page. ``auth="public"``: anyone, data read as :data:`GUEST`;
    ``auth="user"``: signed-in users (others are sent to sign in), limited to ``roles``.
    ``cache_seconds`` > 0 (public pages only) lets browsers and the server keep the page
    that long for visitors who are not signed in (see docs/hooks.md).
    """
    if auth not in AUTH_MODES:
        raise ValueError(f"auth must be one of {AUTH_MODES}, not {auth!r}")
    if auth == "public" and roles:
        raise ValueError("a public page has no user, so it can't require roles")
    if cache_seconds and auth != "public":
        raise ValueError("only public pages may be cached: a user's page is theirs alone")
    _check_cache_seconds(cache_seconds)
    parts = path.split("/") if path else []
    for part in parts:
        name = part[1:-1] if part.startswith("<") and part.endswith(">") else part
        if not (name and name.replace("_", "").replace("-", "").isalnum() and name.isascii()):
            raise ValueError(f"page path {path!r}: use letters, digits, '_' and '-', "
                             "segments separated by '/', '<name>' for a value "
                             "(e.g. 'product/<code>')")
    if parts and parts[0] == "static":
        raise ValueError("page path 'static/...' is reserved for the pack's static files")

    def mark(fn: F) -> F:
        setattr(fn, PAGE_MARK, PageSpec(path, auth, cache_seconds, tuple(roles), fn))
        return fn

    return mark
