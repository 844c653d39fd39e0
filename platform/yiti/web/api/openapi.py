"""The OpenAPI 3.1 document of ``/api/v1``, generated from the definitions.

It describes the entities' endpoints, each workflow's actions
(``POST /api/v1/<entity>/<id>/actions/<action>``), "My approvals" and delegations
(``/api/v1/approvals``), analysts' ``api`` scripts
(``POST /api/v1/_scripts/<name>``) and the packs' ``@api.endpoint`` s
(``/api/v1/x/<pack>/<name>``, with the schemas they declare). Each entity gets its paths
and two schemas: ``<entity>`` (a record as returned: every
field typed and nullable, decimals as strings, child lines embedded) and
``<entity>_input`` (what a create or update may send: writable fields, required ones
listed). Errors are the ``problem`` schema.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Response

from yiti.api import EndpointSpec
from yiti.definitions.model import Entity, Field, Model, label_text
from yiti.records.service import MAX_PAGE
from yiti.web.api.blueprint import bp
from yiti.web.api.problems import MEDIA_TYPE, problem_schema
from yiti.web.api.serialize import json_response
from yiti.web.app import current_site

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
STRING_TYPES = {"string": None, "text": None, "email": "email", "phone": None, "url": "uri"}
ERROR_STATUSES = ("400", "401", "403", "404", "409", "415", "422", "428", "429")


def field_schema(model: Model, f: Field, *, output: bool) -> dict[str, Any]:
    """The JSON Schema of one field's value."""
    schema: dict[str, Any]
    if f.type in STRING_TYPES:
        schema = {"type": "string"}
        if STRING_TYPES[f.type] and output is False:
            schema["format"] = STRING_TYPES[f.type]
        if f.max_length and not output:
            schema["maxLength"] = f.max_length
    elif f.type == "integer":
        schema = {"type": "integer"}
    elif f.type in ("decimal", "money", "percent"):
        schema = {"type": "string", "pattern": DECIMAL_PATTERN,
                  "description": "a decimal number as a string, every digit kept"}
    elif f.type == "boolean":
        schema = {"type": "boolean"}
    elif f.type == "date":
        schema = {"type": "string", "format": "date"}
    elif f.type == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif f.type == "select":
        schema = {"type": "string"}
        if not output:  # stored values may predate a changed option list
            schema["enum"] = [o.value for o in f.options]
    elif f.type in ("link", "attachment"):
        schema = {"type": "integer", "description": f"the id of a {f.target or 'file'}"}
    elif f.type == "table":
        child = model.entities[f.target or ""]
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{child.name}"
                                           + ("" if output else "_input")}}
    else:  # json
        return {"description": label_text(f.label)}
    schema["description"] = label_text(f.label)
    if f.is_line_link:  # a line: its id, of the document the within field names
        document = model.entities[f.target or ""].parent
        where = "the document's field" if f.within_parent else "field"
        schema["description"] += (f": the id of a line of the {document} that {where} "
                                  f"{f.within} names")
        schema["x-yiti-line-of"] = {"entity": document, "within": f.within}
    if output or not f.required:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def entity_schemas(model: Model, entity: Entity) -> dict[str, dict[str, Any]]:
    system: dict[str, Any] = {"id": {"type": "integer"}, "version": {"type": "integer"},
                              "created_at": {"type": "string", "format": "date-time"},
                              "modified_at": {"type": "string", "format": "date-time"},
                              "created_by": {"type": ["string", "null"]},
                              "modified_by": {"type": ["string", "null"]}}
    if entity.child:
        system.update(parent_id={"type": "integer"}, idx={"type": "integer"})
    else:
        system["name"] = {"type": ["string", "null"]}
    if entity.submittable:
        system["docstatus"] = {"type": "string", "enum": ["draft", "submitted", "cancelled"]}
        system["amended_from"] = {"type": ["integer", "null"]}
    output = {"type": "object", "title": label_text(entity.label), "required": ["id"],
              "properties": {**system, **{f.name: field_schema(model, f, output=True)
                                          for f in entity.fields.values()}}}
    writable = [f for f in entity.fields.values() if not f.read_only and not f.formula]
    inputs: dict[str, Any] = {
        "type": "object", "title": f"{label_text(entity.label)} (input)",
        "properties": {f.name: field_schema(model, f, output=False) for f in writable},
        "additionalProperties": False,
    }
    if entity.child:
        inputs["properties"]["id"] = {"type": "integer", "description": "an existing line"}
    else:
        inputs["properties"]["version"] = {"type": "integer"}
    if not entity.child and not entity.naming.series and not entity.naming.field:
        # A record without a series or naming field is named by its creator: the name is
        # input, refused (422 `unique` at `name`) when another record has it.
        inputs["properties"]["name"] = {
            "type": ["string", "null"], "maxLength": 140,
            "description": "the record's name, given on create (another record's name is "
                           "refused: 422, `unique` at `name`); it does not change after"}
    required = [f.name for f in writable if f.required and f.default is None]
    if required:
        inputs["required"] = required
    return {entity.name: output, f"{entity.name}_input": inputs}


def _problems(*statuses: str) -> dict[str, Any]:
    return {s: {"$ref": "#/components/responses/problem"} for s in statuses}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


LIST_PARAMETERS: list[dict[str, Any]] = [
    {"name": "filter", "in": "query", "style": "form", "explode": True,
     "description": "field:op:value (op: eq ne lt le gt ge in nin like nlike between null "
                    "notnull); repeat for AND",
     "schema": {"type": "array", "items": {"type": "string"}}},
    {"name": "filters", "in": "query", "description": "JSON list of [field, op, value]",
     "schema": {"type": "string"}},
    {"name": "sort", "in": "query", "description": "comma-separated fields; -field descends",
     "schema": {"type": "string"}},
    {"name": "limit", "in": "query",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "after", "in": "query", "description": "the previous page's next cursor",
     "schema": {"type": "string"}},
    {"name": "q", "in": "query", "description": "search text", "schema": {"type": "string"}},
    {"name": "fields", "in": "query", "description": "comma-separated fields or link paths",
     "schema": {"type": "string"}},
    {"name": "count", "in": "query", "description": "also count matches (capped)",
     "schema": {"type": "boolean"}},
]
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "description": "the record's ETag; required unless 'version' is in the body "
                           "(428 without either, 409 when stale)",
            "schema": {"type": "string"}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "retrying with the same key never creates twice",
               "schema": {"type": "string", "maxLength": 255}}
ID = {"name": "id", "in": "path", "required": True, "description": "record id or name",
      "schema": {"type": "string"}}


def entity_paths(entity: Entity, by_workflow: frozenset[str] = frozenset()
                 ) -> dict[str, dict[str, Any]]:
    """The record endpoints of ``entity``. ``by_workflow`` names what its workflow does
    itself (:meth:`yiti.workflow.spec.Workflow.lifecycle`): those plain ``/submit`` and
    ``/cancel`` are left out, since they answer 409 naming the workflow's actions."""
    name, label = entity.name, label_text(entity.label)
    record = {"200": {"description": label, "headers": {"ETag": {"schema": {
        "type": "string"}}}, "content": _json(name)}}
    created = {"201": {"description": f"{label} created", "content": _json(name)}}
    paths: dict[str, dict[str, Any]] = {
        f"/api/v1/{name}": {
            "get": {"operationId": f"list_{name}", "summary": f"List {label} records",
                    "tags": [name], "parameters": LIST_PARAMETERS,
                    "responses": {"200": {"description": "a page", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["data", "next", "has_more"],
                            "properties": {
                                "data": {"type": "array",
                                         "items": {"$ref": f"#/components/schemas/{name}"}},
                                "next": {"type": ["string", "null"]},
                                "has_more": {"type": "boolean"},
                                "count": {"type": "object", "properties": {
                                    "value": {"type": "integer"},
                                    "exact": {"type": "boolean"}}}}}}}},
                        **_problems(*ERROR_STATUSES)}},
            "post": {"operationId": f"create_{name}", "summary": f"Create a {label}",
                     "tags": [name], "parameters": [IDEMPOTENCY],
                     "requestBody": {"required": True, "content": _json(f"{name}_input")},
                     "responses": {**created, **_problems(*ERROR_STATUSES)}},
        },
        f"/api/v1/{name}/{{id}}": {
            "parameters": [ID],
            "get": {"operationId": f"get_{name}", "summary": f"One {label}", "tags": [name],
                    "responses": {**record, "304": {"description": "not modified"},
                                  **_problems(*ERROR_STATUSES)}},
            "patch": {"operationId": f"patch_{name}", "summary": f"Change a {label}",
                      "tags": [name], "parameters": [IF_MATCH],
                      "requestBody": {"required": True, "content": _json(f"{name}_input")},
                      "responses": {**record, **_problems(*ERROR_STATUSES)}},
            "put": {"operationId": f"put_{name}", "summary": f"Replace a {label}",
                    "tags": [name], "parameters": [IF_MATCH],
                    "requestBody": {"required": True, "content": _json(f"{name}_input")},
                    "responses": {**record, **_problems(*ERROR_STATUSES)}},
            "delete": {"operationId": f"delete_{name}", "summary": f"Delete a {label}",
                       "tags": [name], "parameters": [IF_MATCH],
                       "responses": {"204": {"description": "deleted"},
                                     **_problems(*ERROR_STATUSES)}},
        },
        f"/api/v1/{name}/{{id}}/history": {
            "parameters": [ID],
            "get": {"operationId": f"history_{name}", "summary": f"Changes of a {label}",
                    "tags": [name], "responses": {"200": {"description": "the audit trail",
                                                          "content": {"application/json": {
                                                              "schema": {"type": "object"}}}},
                                                  **_problems(*ERROR_STATUSES)}},
        },
    }
    if entity.submittable:
        for action in ("submit", "cancel"):
            if action in by_workflow:
                continue
            paths[f"/api/v1/{name}/{{id}}/{action}"] = {"parameters": [ID], "post": {
                "operationId": f"{action}_{name}", "summary": f"{action.title()} a {label}",
                "tags": [name], "parameters": [IF_MATCH],
                "responses": {**record, **_problems(*ERROR_STATUSES)}}}
        paths[f"/api/v1/{name}/{{id}}/amend"] = {"parameters": [ID], "post": {
            "operationId": f"amend_{name}", "summary": f"Amend a cancelled {label}",
            "tags": [name], "parameters": [IDEMPOTENCY],
            "responses": {**created, **_problems(*ERROR_STATUSES)}}}
    return paths


#: No credentials at all: overrides the document's default security.
PUBLIC: list[dict[str, list[str]]] = []
#: What a pack endpoint that does not declare ``errors`` is documented to answer.
PACK_ERRORS = ("400", "401", "403", "404", "409", "422", "429")


def pack_statuses(spec: EndpointSpec, method: str) -> tuple[str, tuple[str, ...]]:
    """The success status (``"2XX"`` when the endpoint does not say which) and the error
    statuses the document lists for ``method`` of ``spec``.

    With ``errors`` declared, these are added to them because the engine answers them
    whatever the function does: 422 (a NUL character, a request its schema refuses, a body
    that is not an object), 401 and 403 for a user's endpoint (no credentials; no CSRF
    token, or a record the caller may not touch), 404 behind ``roles``, 409 for a user's
    POST (its Idempotency-Key in use) and 429 on writes (the write limiter).
    """
    writes = method != "GET"
    success = str(spec.status) if spec.status else "200" if not writes else "2XX"
    if spec.errors is None:
        # A public endpoint may refuse with 401 too (a bad signature).
        return success, tuple(s for s in PACK_ERRORS if s != "429" or writes)
    errors = {*spec.errors, 422}
    if spec.auth == "user":
        errors |= {401, 403}
        if method == "POST":
            errors.add(409)
    if spec.roles:
        errors.add(404)
    if writes:
        errors.add(429)
    return success, tuple(str(s) for s in sorted(errors))


def _summary(spec: EndpointSpec) -> str:
    if spec.summary:
        return spec.summary
    doc = (spec.fn.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else f"{spec.name} ({spec.auth})"


def _operation_id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_") for p in parts)


def pack_endpoint_paths(endpoints: Iterable[tuple[str, EndpointSpec]]
                        ) -> dict[str, dict[str, Any]]:
    """Packs' ``@api.endpoint`` s at ``/api/v1/x/<pack>/<name>`` (docs/hooks.md)."""
    paths: dict[str, dict[str, Any]] = {}
    for pack, spec in endpoints:
        item = paths.setdefault(f"/api/v1/x/{pack}/{spec.name}", {})
        public = spec.auth == "public"
        notes = ["Public: no credentials; the endpoint checks the request itself."
                 if public else "An API token or a signed-in session (with X-CSRFToken on "
                 "writes)."]
        if spec.roles:
            notes.append(f"Only for the roles {', '.join(spec.roles)} (and Administrators); "
                         "to anyone else it does not exist (404).")
        doc = (spec.fn.__doc__ or "").strip()
        if doc:
            notes.append(doc)
        request = dict(spec.request) if spec.request is not None else None
        response = dict(spec.response) if spec.response is not None else {}
        for method in spec.methods:
            success, errors = pack_statuses(spec, method)
            answer: dict[str, Any] = {"description": "done"}
            if success != "204":
                answer["content"] = {"application/json": {"schema": response}}
            operation: dict[str, Any] = {
                "operationId": _operation_id("x", pack, spec.name, method.lower()),
                "summary": _summary(spec), "description": "\n\n".join(notes),
                "tags": [f"x/{pack}"],
                "responses": {success: answer, **_problems(*errors)},
            }
            if public:
                operation["security"] = PUBLIC
            if method == "GET":
                operation["parameters"] = _query_parameters(request)
            else:
                operation["requestBody"] = {"required": False, "content": {
                    "application/json": {"schema": request or {"type": "object"}}}}
                if method == "POST" and not public:
                    operation["parameters"] = [IDEMPOTENCY]
            item[method.lower()] = operation
    return paths


def _query_parameters(schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A GET endpoint's declared request schema as query parameters."""
    if not schema:
        return []
    required = set(schema.get("required") or ())
    return [{"name": name, "in": "query", "required": name in required,
             "schema": prop} for name, prop in (schema.get("properties") or {}).items()]


def script_paths(model: Model) -> dict[str, dict[str, Any]]:
    """Analysts' ``api`` scripts at ``POST /api/v1/_scripts/<name>`` (docs/scripting.md)."""
    paths: dict[str, dict[str, Any]] = {}
    for name, definition in model.extra.get("scripts", {}).items():
        body = definition.body
        if body.get("event") != "api":
            continue
        roles = list(body.get("roles") or ())
        notes = [label_text(body["description"])] if body.get("description") else []
        notes.append("The JSON object sent is the script's `params`; the answer is "
                     "`{\"result\": ...}`. It runs with the caller's permissions, in one "
                     "transaction. " + (f"Only for the roles {', '.join(roles)} and "
                                        "Administrators; to anyone else it does not exist "
                                        "(404)." if roles else "Only Administrators may "
                                        "call it; to anyone else it does not exist (404)."))
        paths[f"/api/v1/_scripts/{name}"] = {"post": {
            "operationId": _operation_id("script", name),
            "summary": label_text(body["label"]) if body.get("label")
            else f"Run the script {name}",
            "description": "\n\n".join(notes), "tags": ["_scripts"],
            "requestBody": {"required": False, "content": {
                "application/json": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "the script's result", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["result"],
                    "properties": {"result": {"description": "what the script set as "
                                                              "result"}}}}}},
                **_problems("400", "401", "403", "404", "409", "422", "429")},
        }}
    return paths


def _input_schema(spec: Any) -> dict[str, Any]:
    """A workflow transition's input (:class:`yiti.workflow.spec.Input`) as JSON Schema."""
    kinds: dict[str, dict[str, Any]] = {
        "integer": {"type": "integer"}, "boolean": {"type": "boolean"},
        "date": {"type": "string", "format": "date"},
        "datetime": {"type": "string", "format": "date-time"},
        "decimal": {"type": ["string", "number"]}, "money": {"type": ["string", "number"]},
        "percent": {"type": ["string", "number"]},
    }
    if spec.type == "link":
        return {"oneOf": [{"type": "integer", "minimum": 1},
                          {"type": "object", "minProperties": 1}],
                "description": (f"{label_text(spec.label)}: " if spec.label else "")
                + f"the id of a {spec.entity} you may read, or a lookup of one "
                  "({\"id\": 12}, {\"code\": \"ACME\"})",
                "x-yiti-entity": spec.entity}
    schema = dict(kinds.get(spec.type, {"type": "string"}))
    if spec.options:
        schema["enum"] = [value for value, _ in spec.options]
    if spec.max_length and schema.get("type") == "string":
        schema["maxLength"] = spec.max_length
    if spec.label:
        schema["description"] = label_text(spec.label)
    return schema


def _workflows(model: Model) -> list[tuple[Any, Entity]]:
    """Each workflow of ``model`` (templates expanded, as the engine reads it) with its
    entity."""
    from yiti.workflow import parse, resolve
    from yiti.workflow.templates import expand

    out = []
    for definition in model.workflows.values():
        wf = resolve(parse(expand(dict(definition.body)), module=definition.module),
                     model.entities)
        entity = model.entities.get(wf.entity)
        if entity is not None:
            out.append((wf, entity))
    return out


def workflow_paths(model: Model) -> dict[str, dict[str, Any]]:
    """Each workflow's actions at ``POST /api/v1/<entity>/<id>/actions/<action>``
    (docs/workflow.md), and the record's workflow panel."""
    paths: dict[str, dict[str, Any]] = {}
    for wf, entity in _workflows(model):
        record = {"200": {"description": "the record as stored afterwards",
                          "headers": {"ETag": {"schema": {"type": "string"}}},
                          "content": _json(entity.name)}}
        by_action: dict[str, list[Any]] = {}
        for transition in wf.transitions:
            by_action.setdefault(transition.action, []).append(transition)
        for action, transitions in by_action.items():
            first = transitions[0]
            sources = sorted({s for t in transitions for s in t.sources})
            properties: dict[str, Any] = {
                "comment": {"type": ["string", "null"],
                            "description": "a comment kept in the history"
                            + (" (required)" if any(t.comment_required for t in transitions)
                               else "")},
                "to": {"type": ["string", "null"],
                       "description": "the user to hand the step to, where the action "
                                      "allows it"},
                "version": {"type": "integer",
                            "description": "the version read (If-Match works too)"},
            }
            for transition in transitions:
                for spec in transition.inputs:
                    properties.setdefault(spec.name, _input_schema(spec))
            label = label_text(first.label) if first.label else action
            paths[f"/api/v1/{entity.name}/{{id}}/actions/{action}"] = {
                "parameters": [ID], "post": {
                    "operationId": _operation_id("act", entity.name, action),
                    "summary": f"{label} ({label_text(entity.label)})",
                    "description": f"Workflow {wf.name}: from {', '.join(sources)} to "
                                   f"{', '.join(sorted({t.target for t in transitions}))}. "
                                   "403 when you may not take it, 409 from another state, "
                                   "when its condition does not hold or the version is "
                                   "stale, 422 for a missing comment or input.",
                    "tags": [entity.name], "parameters": [IF_MATCH],
                    "requestBody": {"required": False, "content": {"application/json": {
                        "schema": {"type": "object", "properties": properties}}}},
                    "responses": {**record, **_problems(
                        "400", "401", "403", "404", "409", "422", "429")}}}
        paths[f"/api/v1/{entity.name}/{{id}}/workflow"] = {"parameters": [ID], "get": {
            "operationId": _operation_id("workflow", entity.name),
            "summary": f"Workflow state of a {label_text(entity.label)}",
            "description": "The state, the actions you may take, open steps and history.",
            "tags": [entity.name],
            "responses": {"200": {"description": "the workflow panel", "content": {
                "application/json": {"schema": {"type": ["object", "null"]}}}},
                **_problems("400", "401", "403", "404", "429")}}}
    return paths


DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_TEXT = {"type": ["string", "null"]}
APPROVAL_ACTION: dict[str, Any] = {
    "type": "object", "required": ["action", "label", "comment", "approves", "back"],
    "properties": {"action": {"type": "string"}, "label": {"type": "string"},
                   "comment": {"type": "string", "enum": ["required", "optional"]},
                   "approves": {"type": "boolean"},
                   "back": {"type": "boolean",
                            "description": "sends the record back to an earlier step"}}}
APPROVAL: dict[str, Any] = {
    "type": "object", "title": "A record waiting for the caller",
    "required": ["entity", "id", "version", "title", "state", "waiting_since", "actions"],
    "properties": {
        "entity": {"type": "string"}, "entity_label": {"type": "string"},
        "id": {"type": "integer"}, "name": NULLABLE_TEXT, "version": {"type": "integer"},
        "title": {"type": "string"}, "state": {"type": "string"},
        "state_label": {"type": "string"}, "waiting_since": DATETIME,
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "on_behalf_of": {"type": ["string", "null"],
                         "description": "the user who delegated this to the caller"},
        "actions": {"type": "array", "items": {"$ref": "#/components/schemas/"
                                                       "workflow.approval_action"}}}}
DELEGATION: dict[str, Any] = {
    "type": "object", "title": "A delegation",
    "required": ["id", "from_user", "to_user", "starts", "ends", "status"],
    "properties": {
        "id": {"type": "integer"}, "from_user": {"type": "string"},
        "to_user": {"type": "string"}, "starts": DATE, "ends": DATE,
        "reason": NULLABLE_TEXT,
        "created_at": {"type": ["string", "null"], "format": "date-time"},
        "created_by": NULLABLE_TEXT,
        "status": {"type": "string", "enum": ["upcoming", "active", "ended"]}}}
DELEGATION_INPUT: dict[str, Any] = {
    "type": "object", "title": "A delegation (input)", "required": ["to_user", "starts", "ends"],
    "additionalProperties": False,
    "properties": {
        "to_user": {"type": "string", "description": "the stand-in (an enabled user)"},
        "starts": {**DATE, "description": "the first day"},
        "ends": {**DATE, "description": "the last day (not before starts)"},
        "reason": NULLABLE_TEXT,
        "from_user": {"type": ["string", "null"],
                      "description": "whose tasks (administrators only; the caller's when "
                                     "left out)"}}}


def approval_schemas() -> dict[str, dict[str, Any]]:
    """The schemas :func:`approval_paths` refers to (named ``workflow.*``: no entity's
    name has a dot)."""
    return {"workflow.approval": APPROVAL, "workflow.approval_action": APPROVAL_ACTION,
            "workflow.delegation": DELEGATION, "workflow.delegation_input": DELEGATION_INPUT}


def approval_paths() -> dict[str, dict[str, Any]]:
    """"My approvals" and delegations (``yiti.web.workflow_views``,
    ``yiti.web.delegation_views``; docs/workflow.md)."""
    count = {"type": "integer", "minimum": 0,
             "description": "how many records wait for the caller in all"}
    listed = {"type": "object", "required": ["data", "count"],
              "properties": {"data": {"type": "array", "items": {
                  "$ref": "#/components/schemas/workflow.delegation"}}, "count": count}}
    return {
        "/api/v1/approvals": {"get": {
            "operationId": "approvals", "summary": "My approvals",
            "description": "The first 100 records waiting for the caller (their own tasks "
                           "and those of users who delegated to them today), oldest first, "
                           "with the actions the caller may take; `count` is all of them.",
            "tags": ["approvals"],
            "responses": {"200": {"description": "what waits", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["data", "count"],
                    "properties": {"data": {"type": "array", "items": {
                        "$ref": "#/components/schemas/workflow.approval"}}, "count": count}}}}},
                **_problems("400", "401", "403", "429")}}},
        "/api/v1/approvals/count": {"get": {
            "operationId": "approvals_count", "summary": "How many records wait for me",
            "description": "The number the navigation shows: the `count` of "
                           "/api/v1/approvals alone.",
            "tags": ["approvals"],
            "responses": {"200": {"description": "the count", "content": {
                "application/json": {"schema": {
                    "type": "object", "required": ["count"],
                    "properties": {"count": count}}}}},
                **_problems("400", "401", "403", "429")}}},
        "/api/v1/approvals/delegations": {
            "get": {
                "operationId": "delegations", "summary": "My delegations",
                "description": "The caller's delegations, given and received, newest "
                               "first; an administrator may ask for a user's (`user`) or "
                               "everyone's (`all=1`): anyone else gets 403.",
                "tags": ["approvals"],
                "parameters": [
                    {"name": "user", "in": "query", "required": False,
                     "description": "whose delegations (administrators only)",
                     "schema": {"type": "string"}},
                    {"name": "all", "in": "query", "required": False,
                     "description": "1 or true: everyone's (administrators only)",
                     "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the delegations", "content": {
                    "application/json": {"schema": listed}}},
                    **_problems("400", "401", "403", "429")}},
            "post": {
                "operationId": "delegate", "summary": "Delegate my approvals",
                "description": "While away from `starts` to `ends`, `to_user` acts for the "
                               "delegator. 422 names each field in error (all at once); "
                               "403 for someone else's (`from_user`) unless an "
                               "administrator.",
                "tags": ["approvals"],
                "requestBody": {"required": True, "content": _json("workflow.delegation_input")},
                "responses": {"201": {"description": "the delegation",
                                      "content": _json("workflow.delegation")},
                              **_problems("400", "401", "403", "409", "422", "429")}},
        },
        "/api/v1/approvals/delegations/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "description": "the delegation's id",
                            "schema": {"type": "integer", "minimum": 1}}],
            "delete": {
                "operationId": "end_delegation", "summary": "End a delegation today",
                "description": "One that has not started is removed; one that has ends "
                               "yesterday. 403 for the stand-in (only the delegator or an "
                               "administrator may end it), 404 when there is none of the "
                               "caller's.",
                "tags": ["approvals"],
                "responses": {"204": {"description": "ended"},
                              **_problems("400", "401", "403", "404", "429")}}},
    }


def build_document(model: Model, endpoints: Iterable[tuple[str, EndpointSpec]] = ()
                   ) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``model`` and the packs' ``endpoints``."""
    schemas: dict[str, Any] = {"problem": problem_schema()}
    paths: dict[str, Any] = {}
    lifecycle = {entity.name: wf.lifecycle() for wf, entity in _workflows(model)}
    for entity in model.entities.values():
        schemas.update(entity_schemas(model, entity))
        if not entity.child:
            paths.update(entity_paths(entity, lifecycle.get(entity.name, frozenset())))
    paths.update(workflow_paths(model))
    paths.update(approval_paths())
    schemas.update(approval_schemas())
    paths.update(script_paths(model))
    if any(f.type == "attachment" for e in model.entities.values() for f in e.fields.values()):
        from yiti.web.api.files import FILE_SCHEMA, file_paths

        paths.update(file_paths())
        schemas["yiti.file"] = FILE_SCHEMA  # dotted: no entity is named so
    paths.update(pack_endpoint_paths(endpoints))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Yiti API", "version": "1",
                 "description": "Records of every entity of this site, workflow actions, "
                                "my approvals and delegations, "
                                "analysts' script endpoints and packs' endpoints "
                                "(/api/v1/x/<pack>/...). See docs/api.md."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": {"problem": {"description": "an error (RFC 9457)", "content": {
                MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/problem"}}}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token: yt_<id>_<secret>"},
                "session": {"type": "apiKey", "in": "cookie", "name": "yiti_session",
                            "description": "the browser's session; unsafe methods also "
                                           "need the X-CSRFToken header"},
            },
        },
    }


_DOCUMENTS: dict[int, tuple[Model, dict[str, Any]]] = {}


@bp.get("/openapi.json")
def openapi() -> Response:
    from yiti.web.pack_endpoints import endpoints_of

    site = current_site()
    model = site.model
    cached = _DOCUMENTS.get(id(model))
    if cached is None or cached[0] is not model:
        cached = _DOCUMENTS[id(model)] = (model, build_document(model, endpoints_of(site)))
    return json_response(cached[1])
