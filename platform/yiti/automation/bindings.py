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
            for key in result.changed:
                doc[key] = result.doc.get(key)

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
    return {k: ([dict(x) for x in v] if isinstance(v, list) else v) for k, v in doc.items()}


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
