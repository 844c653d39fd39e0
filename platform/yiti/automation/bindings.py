"""Binding scripts to what runs them: record events, API endpoints, schedules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from yiti.automation.host import RecordsHost
from yiti.definitions.model import Definition
from yiti.errors import Forbidden, NotFound
from yiti.permissions.policy import SYSTEM, Actor
from yiti.records.hooks import HookContext

if TYPE_CHECKING:
    from yiti.site import Site

#: Events whose scripts may change the record (the changes are kept).
CHANGING = ("before_validate", "before_save", "on_submit", "on_cancel")
RUN_SCRIPT_JOB = "automation.run_script"


def scripts_of(site: Site) -> Mapping[str, Definition]:
    return site.model.extra.get("scripts", {})


def install(site: Site) -> None:
    """Hook every record-event script into ``site``'s records."""
    for definition in scripts_of(site).values():
        event = definition.body.get("event")
        if definition.entity and event in CHANGING + (
                "validate", "after_save", "before_delete", "after_delete"):
            site.hooks.add(definition.entity, event, _event_hook(definition))


def _event_hook(definition: Definition) -> Any:
    def run(doc: dict[str, Any], ctx: HookContext) -> None:
        records = ctx.records
        if definition.body.get("run_as"):
            records = records.site.records(Actor(str(definition.body["run_as"])))
        result = _run(definition, records, doc=_plain(doc), inputs={"event": ctx.event})
        if ctx.event in CHANGING and result.doc is not None:
            site = records.site
            changes = {key: result.doc.get(key) for key in result.changed}
            doc.update(_checked_changes(site.model.entities, definition.entity or "", changes,
                                        site.settings.timezone, definition.name))

    run.__name__ = f"script_{definition.name}"
    return run


def run_endpoint(site: Site, actor: Actor, name: str, inputs: Mapping[str, Any]) -> Any:
    """Run the API script ``name`` for ``actor``; its ``result``.

    Only roles the script lists may call it (and Administrators); to anyone else the
    script does not exist (404), so its name leaks nothing.
    """
    definition = scripts_of(site).get(name)
    if definition is None or definition.body.get("event") != "api":
        raise NotFound(f"no script endpoint {name!r}")
    roles = set(definition.body.get("roles") or ())
    if not actor.system and "Administrator" not in actor.roles and not roles & actor.roles:
        raise NotFound(f"no script endpoint {name!r}")
    records = site.records(actor)
    if definition.body.get("run_as"):
        records = site.records(Actor(str(definition.body["run_as"])))
    with records.unit_of_work():
        return _run(definition, records, doc=None, inputs={"params": dict(inputs)}).value


def run_scheduled(site: Site, name: str, payload: Mapping[str, Any]) -> Any:
    """Run a ``schedule`` script (from the jobs layer's schedules)."""
    definition = scripts_of(site).get(name)
    if definition is None or definition.body.get("event") != "schedule":
        raise Forbidden(f"no scheduled script {name!r}")
    run_as = definition.body.get("run_as")
    records = site.records(Actor(str(run_as)) if run_as else SYSTEM)
    with records.unit_of_work():
        return _run(definition, records, doc=None, inputs={"params": dict(payload)}).value


def _run(definition: Definition, records: Any, *, doc: dict[str, Any] | None,
         inputs: dict[str, Any]) -> Any:
    from yiti.scripting import default_runner

    loc = definition.location
    return default_runner().run(
        definition.body.get("code") or "", filename=loc.path if loc else definition.name,
        lineno=int(definition.body.get("_code_line", 1)), name=definition.name,
        doc=doc, inputs=inputs, host=RecordsHost(records, script=definition.name))


def _plain(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ([dict(x) if isinstance(x, Mapping) else x for x in v] if isinstance(v, list)
                else v) for k, v in doc.items()}


#: Keys of a record a script may not set: the record service keeps them.
_SYSTEM_KEYS = frozenset(("id", "version", "docstatus", "created_at", "created_by",
                          "modified_at", "modified_by", "parent", "parent_id", "idx"))


def _checked_changes(entities: Mapping[str, Any], entity: str, changes: Mapping[str, Any],
                     timezone: str, script: str) -> dict[str, Any]:
    """What a record-event script changed, each value parsed and checked as its field
    would be from the API: a ``before_save`` script runs after validation, so a value it
    sets is written as it is (a NaN, a list in an integer field, a text past its length
    failed in the database, a 500). Refused (422) naming the field; system keys and
    names that are no field are refused too, in a line as well (``lines[0].bogus``: a
    line keeps the system keys it was read with, which the service sets itself)."""
    from yiti.errors import FieldProblem, ValidationError
    from yiti.values import ValueProblem, check_bounds, parse

    model = entities.get(entity)
    out: dict[str, Any] = {}
    problems: list[FieldProblem] = []

    def one(owner: Any, key: str, value: Any, where: str, line: bool = False) -> Any:
        field = owner.fields.get(key) if owner is not None else None
        if field is None:
            if (key == "name" and not line) or (line and key in _SYSTEM_KEYS):
                return value  # the record's name; a line's own keys, as the service reads them
            if line:
                why = "no field of the line"
            else:
                why = "it is set by the system" if key in _SYSTEM_KEYS else "no field of the record"
            problems.append(FieldProblem(where, f"script {script!r} may not set {key!r}: {why}",
                                         "read_only" if key in _SYSTEM_KEYS else "unknown_field"))
            return None
        if field.is_table:
            if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
                problems.append(FieldProblem(where, f"script {script!r} set it to something "
                                             "other than a list of lines", "type"))
                return None
            child = entities.get(field.target or "")
            return [{k: one(child, k, v, f"{where}[{i}].{k}", True) for k, v in row.items()}
                    for i, row in enumerate(value)]
        try:
            parsed = parse(field, value, timezone=timezone)
            if parsed not in (None, ""):
                check_bounds(field, parsed)
            return parsed
        except ValueProblem as problem:
            problems.append(FieldProblem(where, f"script {script!r} set it to an invalid "
                                         f"value: {problem.message}", problem.code))
            return None

    for key, value in changes.items():
        out[key] = one(model, key, value, key)
    if problems:
        raise ValidationError(problems)
    return out


def check_schedule_payload(build: Any, body: Mapping[str, Any], item: Any) -> None:
    """``yiti check`` of a schedule running :data:`RUN_SCRIPT_JOB`: its ``payload.script``
    must be a ``schedule`` script (reported at ``payload.script``)."""
    from yiti.errors import did_you_mean

    payload = body.get("payload") or {}
    script = payload.get("script") if isinstance(payload, Mapping) else None
    scripts = build.definitions.get("scripts", {})
    if not isinstance(script, str) or not script:
        build.add(item.source.error(("payload",), f"a {RUN_SCRIPT_JOB} schedule needs "
                                    "payload: {script: <name of a schedule script>}"))
        return
    found = scripts.get(script)
    if found is None:
        build.add(item.source.error(("payload", "script"), f"unknown script {script!r}",
                                    did_you_mean(script, scripts)))
    elif found.body.get("event") != "schedule":
        build.add(item.source.error(
            ("payload", "script"),
            f"script {script!r} runs on {found.body.get('event')!r}, not on a schedule",
            f"give it event: schedule ({found.location})"))


def _register_job() -> None:
    from yiti.jobs import job
    from yiti.jobs.kind import PAYLOAD_CHECKS

    @job(RUN_SCRIPT_JOB)
    def run_script(ctx: Any) -> Any:
        """A schedule's job: ``payload: {script: <name>, ...}`` runs that script."""
        return run_scheduled(ctx.site, str(ctx.payload.get("script")), ctx.payload)

    PAYLOAD_CHECKS[RUN_SCRIPT_JOB] = check_schedule_payload


_register_job()
