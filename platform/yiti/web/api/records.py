"""CRUD, lists, transitions and history of every entity: thin over the record service.

Every call goes through ``current_site().records(current_actor())``, so the roles, row
rules and field rules the service enforces apply here exactly as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Response, request, url_for

from yiti.definitions.model import SYSTEM_COLUMNS, Entity
from yiti.errors import Conflict, FieldProblem, NotFound, ValidationError, YitiError
from yiti.permissions.policy import Actor
from yiti.web.api.blueprint import bp
from yiti.web.api.idempotency import idempotent
from yiti.web.api.inputs import MAX_ID
from yiti.web.api.params import parse_list_args
from yiti.web.api.serialize import etag, json_response, jsonable
from yiti.web.app import current_site
from yiti.web.auth import current_actor

COUNT_CAP = 10_000
_ETAG = re.compile(r'^"v([0-9]{1,19})"$')
#: Writes made with ``If-Match: *`` are tried this many times over the current version.
ANY_VERSION_TRIES = 5


class PreconditionRequired(YitiError):
    code = "precondition_required"
    status = 428


def entity_or_404(name: str) -> Entity:
    entity = current_site().model.entities.get(name)
    if entity is None or entity.child:
        from yiti.errors import did_you_mean

        choices = [e.name for e in current_site().model.entities.values() if not e.child]
        hint = did_you_mean(name, choices)
        raise NotFound(f"unknown entity {name!r}" + (f"; {hint}" if hint else ""))
    return entity


def present(entity: Entity, record: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    """A record for the response: lines stripped of fields hidden from the actor."""
    out = dict(record)
    policy = current_site().policy
    for f in entity.table_fields:
        if f.name not in out:
            continue
        child = current_site().model.entities[f.target or ""]
        readable = policy.readable(actor, child)
        if readable is not None:
            out[f.name] = [{k: v for k, v in line.items()
                            if k not in child.fields or k in readable}
                           for line in out[f.name] or []]
    return out


def record_response(entity: Entity, record: Mapping[str, Any], actor: Actor,
                    status: int = 200) -> Response:
    headers = {"ETag": etag(record)}
    if status == 201:
        headers["Location"] = url_for("api.record", entity=entity.name, ident=record["id"])
    return json_response(present(entity, record, actor), status, headers)


def body_object() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.get_data(cache=True):
        raise ValidationError([FieldProblem("body", "send a JSON object with "
                                            "Content-Type: application/json", "not_json")])
    if not isinstance(data, dict):
        raise ValidationError([FieldProblem("body", "must be a JSON object", "type")])
    return data


def expected_version(body: Mapping[str, Any] | None = None) -> int | None:
    """The version the client read: from If-Match, else ``version`` in the body.

    Writes to an existing record must say which version they change (428 otherwise), so
    two people editing the same record never overwrite each other silently (409).
    """
    header = request.headers.get("If-Match")
    if header:
        if header.strip() == "*":
            return None
        tag = header.split(",")[0].strip()
        if tag.startswith("W/"):  # If-Match compares strongly: a weak tag never matches
            raise ValidationError([FieldProblem("If-Match", "a weak ETag (W/...) never "
                                                "matches; send the ETag as returned, like "
                                                "\"v3\"", "invalid")])
        match = _ETAG.match(tag)
        if not match or int(match.group(1)) > MAX_ID:
            raise ValidationError([FieldProblem("If-Match", "must be an ETag this API "
                                                "returned, like \"v3\"", "invalid")])
        return int(match.group(1))
    if body is not None and body.get("version") is not None:
        version = body["version"]
        if isinstance(version, str) and version.isascii() and version.isdigit():
            version = int(version)
        if isinstance(version, bool) or not isinstance(version, int) or not (
                0 <= version <= MAX_ID):
            raise ValidationError([FieldProblem("version", "must be a whole number (the "
                                                "record's version)", "type")])
        return version
    raise PreconditionRequired("send If-Match with the record's ETag (or 'version' in the "
                               "body), so a stale change is refused instead of "
                               "overwriting someone else's")


# -- lists and creation ----------------------------------------------------------------

@bp.get("/<entity:entity>")
def collection(entity: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    records = current_site().records(actor)
    query = parse_list_args(request.args)
    page = records.list(ent.name, filters=query.filters, sort=query.sort, limit=query.limit,
                        offset=query.offset, after_cursor=query.after, search=query.search,
                        fields=query.fields)
    body: dict[str, Any] = {"data": page.rows, "next": page.next, "has_more": page.has_more}
    headers = {}
    if page.next:
        args = request.args.to_dict(flat=False)
        args["after"] = [page.next]
        args.pop("offset", None)
        link = url_for("api.collection", entity=ent.name, **args)
        headers["Link"] = f'<{link}>; rel="next"'
    if query.count:
        count = records.count(ent.name, filters=query.filters, search=query.search,
                              cap=COUNT_CAP)
        body["count"] = {"value": count.value, "exact": count.exact}
    return json_response(body, headers=headers)


@bp.post("/<entity:entity>")
def create(entity: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    values = body_object()

    def run() -> Response:
        record = current_site().records(actor).create(ent.name, clean_values(ent, values))
        return record_response(ent, record, actor, 201)

    return idempotent(current_site(), actor.name, run)


# -- one record --------------------------------------------------------------------------

@bp.get("/<entity:entity>/<ident>")
def record(entity: str, ident: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    found = current_site().records(actor).get(ent.name, ident)
    tag = etag(found)
    if request.if_none_match and tag.strip('"') in request.if_none_match:
        return Response(status=304, headers={"ETag": tag})
    return record_response(ent, found, actor)


@bp.patch("/<entity:entity>/<ident>")
def patch(entity: str, ident: str) -> Response:
    return _update(entity, ident, replace=False)


@bp.put("/<entity:entity>/<ident>")
def put(entity: str, ident: str) -> Response:
    return _update(entity, ident, replace=True)


def _update(entity: str, ident: str, *, replace: bool) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    body = body_object()
    version = expected_version(body)
    records = current_site().records(actor)
    old = records.get(ent.name, ident)
    values = _values(ent, actor, body, old, replace=replace)
    if version is not None:
        return record_response(ent, records.update(ent.name, old["id"], values,
                                                   version=version), actor)
    # If-Match: * - the change goes over whatever version is current when it is written;
    # a write by someone else in between is not a reason to refuse it, so it is made
    # again over the newer version (a few times, under heavy contention)
    for attempt in range(ANY_VERSION_TRIES):
        try:
            record = records.update(ent.name, old["id"], values, version=old["version"])
            return record_response(ent, record, actor)
        except Conflict:
            if attempt == ANY_VERSION_TRIES - 1:
                raise
        old = records.get(ent.name, ident)
        values = _values(ent, actor, body, old, replace=replace)
    raise AssertionError("unreachable")


def _values(ent: Entity, actor: Actor, body: Mapping[str, Any], old: Mapping[str, Any], *,
            replace: bool) -> dict[str, Any]:
    """The changes a PATCH (``replace`` false) or PUT body makes to ``old``: a PUT blanks
    the writable fields it leaves out."""
    values = clean_values(ent, body, old=old)
    if replace:
        writable = current_site().policy.writable(actor, ent)
        for f in ent.fields.values():
            if (f.read_only or f.formula or f.name in body
                    or (writable is not None and f.name not in writable)):
                continue
            values[f.name] = [] if f.is_table else None
    return values


@bp.delete("/<entity:entity>/<ident>")
def delete(entity: str, ident: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    version = expected_version()
    records = current_site().records(actor)
    for attempt in range(1 if version is not None else ANY_VERSION_TRIES):
        try:  # If-Match: * deletes whatever version is current (see _update)
            records.delete(ent.name, ident, version=version if version is not None
                           else records.get(ent.name, ident)["version"])
            return Response(status=204)
        except Conflict:
            if version is not None or attempt == ANY_VERSION_TRIES - 1:
                raise
    raise AssertionError("unreachable")


@bp.post("/<entity:entity>/<ident>/<any(submit, cancel, amend):action>")
def transition(entity: str, ident: str, action: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    if not ent.submittable:  # no such endpoint (the OpenAPI document lists none)
        raise NotFound(f"{entity} records are not submittable: there is no /{action}")
    records = current_site().records(actor)
    if action == "amend":
        def run() -> Response:
            return record_response(ent, records.amend(ent.name, ident), actor, 201)

        return idempotent(current_site(), actor.name, run)
    data = request.get_json(silent=True)
    version = expected_version(data if isinstance(data, dict) else None)
    if version is None:
        version = records.get(ent.name, ident)["version"]
    method = records.submit if action == "submit" else records.cancel
    return record_response(ent, method(ent.name, ident, version=version), actor)


@bp.get("/<entity:entity>/<ident>/history")
def history(entity: str, ident: str) -> Response:
    ent = entity_or_404(entity)
    actor = current_actor()
    return json_response({"data": current_site().records(actor).history(ent.name, ident)})


def clean_values(entity: Entity, body: Mapping[str, Any],
                 old: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body as values for the service: system columns the client echoed back dropped,
    and (for an update) values equal to what is stored dropped, so a record read, edited
    and sent back whole changes only what was edited."""
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key in SYSTEM_COLUMNS and key != "name":
            continue
        f = entity.fields.get(key)
        if f is not None and f.is_table and isinstance(value, list):
            value = [_clean_line(line) for line in value]
        if old is not None and key in old and jsonable(old[key]) == value and not (
                f is not None and f.is_table):
            continue
        values[key] = value
    if old is None and "name" in values and values["name"] is None:
        values.pop("name")
    return values


def _clean_line(line: Any) -> Any:
    if not isinstance(line, dict):
        return line
    return {k: v for k, v in line.items() if k == "id" or k not in SYSTEM_COLUMNS}

