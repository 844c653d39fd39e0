"""The job layer's kinds of definition file: ``schedules``, ``webhooks``, ``notifications``.

Registered on import of :mod:`yiti.jobs` (``yiti check`` and every site import it), so a
problem in one of these files is reported like any other definition problem, at its
``path:line: key``, when the definitions load — never as a traceback, never only when
the schedule fires or the event is sent:

- a schedule: a cron expression that does not parse, an interval with an unknown unit or
  under a minute, an unknown time zone, a job no handler is declared for (the packs'
  hooks are imported to find theirs), a payload naming something that does not exist
  (:data:`PAYLOAD_CHECKS`: the script of an ``automation.run_script`` schedule);
- a webhook: an unknown entity, a condition that does not compile or names an unknown
  field, an unknown field in ``fields``;
- a notification template: a Jinja2 syntax error in its subject or body, in any language.
"""

from __future__ import annotations

import weakref
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from jinja2 import TemplateSyntaxError

from yiti.definitions.build import Build, Item
from yiti.definitions.kinds import Kind, check_entity, register_kind
from yiti.definitions.model import SYSTEM_COLUMNS, Definition
from yiti.errors import DefinitionError, did_you_mean
from yiti.jobs.registry import JOBS

#: Further checks of a schedule's ``payload`` by job name, for jobs whose payload names
#: something (``automation.run_script`` names a script): ``fn(build, body, item)`` adds
#: problems to ``build``. Engine parts register theirs on import.
PAYLOAD_CHECKS: dict[str, Callable[[Build, Mapping[str, Any], Item], None]] = {}


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_problem(name: str) -> str | None:
    """Why ``name`` is not an IANA time zone; None when it is one."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r}"
    return None


def _load_pack_jobs(build: Build, item: Item) -> list[DefinitionError]:
    """Import every pack's hooks (as the site will) so their ``@job`` handlers are known,
    once per load however many schedules ask: a hooks module that fails to import is
    reported once, where :func:`yiti.extensions.hooks_problems` locates it (the line of
    the pack's file that raised). Returns those failures."""
    from yiti.extensions import hooks_problems

    if build not in _HOOKS_IMPORTED:
        _HOOKS_IMPORTED[build] = hooks_problems(build.modules)
        for problem in _HOOKS_IMPORTED[build]:
            build.add(problem)
    return _HOOKS_IMPORTED[build]


#: The loads whose packs' hooks were imported already, with the failures reported.
_HOOKS_IMPORTED: weakref.WeakKeyDictionary[Build, list[DefinitionError]] = (
    weakref.WeakKeyDictionary())


def check_schedule(build: Build, definition: Definition, item: Item) -> None:
    from yiti.jobs.schedules import cron_problem, parse_every

    body, source = definition.body, item.source
    if body.get("cron") is not None:
        problem = cron_problem(str(body["cron"]))
        if problem:
            build.add(source.error(("cron",), problem,
                                   "e.g. '0 8 * * *' is daily at 08:00, '*/15 * * * *' "
                                   "every quarter hour"))
    if body.get("every") is not None:
        try:
            parse_every(body["every"])
        except ValueError as error:
            build.add(source.error(("every",), str(error)))
    if body.get("timezone") is not None:
        problem = time_zone_problem(str(body["timezone"]))
        if problem:
            build.add(source.error(("timezone",), problem,
                                   did_you_mean(str(body["timezone"]), _zones())))
    job = str(body.get("job"))
    failed = _load_pack_jobs(build, item) if job not in JOBS else []
    if job not in JOBS and failed:
        # the handler may well be declared in the hooks that failed: saying "declare one"
        # would send the author after a mistake they did not make
        where = ", ".join(f"{p.path}:{p.line}" for p in failed)
        build.unchecked.append(
            f"the job handler {job!r} of {source.display}:{source.line(('job',))} "
            f"(the packs' hooks failed to import at {where})")
    elif job not in JOBS:
        build.add(source.error(
            ("job",), f"no job handler {job!r}",
            did_you_mean(job, JOBS) or "declare one with @yiti.jobs.job in a pack's hooks"))
    elif job in PAYLOAD_CHECKS:
        PAYLOAD_CHECKS[job](build, body, item)


def check_webhook(build: Build, definition: Definition, item: Item) -> None:
    check_entity(build, definition, item)
    entity = build.entities.get(definition.entity or "")
    body, source = definition.body, item.source
    known = {*SYSTEM_COLUMNS, *(entity.fields if entity else ())}
    if body.get("condition"):
        from yiti.scripting import check_expression

        names = {*known, "doc"} if entity is not None else None
        for problem in check_expression(str(body["condition"]), filename=source.display,
                                        lineno=source.line(("condition",)),
                                        name="condition", names=names):
            build.add(source.error(("condition",), problem.message))
    if entity is not None:
        for i, name in enumerate(body.get("fields") or ()):
            if name not in known:
                build.add(source.error(("fields", i), f"unknown field {name!r} of "
                                       f"{entity.name!r}", did_you_mean(name, known)))


def template_problems(text: Any) -> Iterable[tuple[str | None, str]]:
    """``(language or None, message)`` for each Jinja2 syntax error in ``text`` (a string
    or a map of language to text), compiled in the notifications' sandbox."""
    from yiti.jobs.notifications import sandbox

    items = text.items() if isinstance(text, Mapping) else [(None, text)]
    for language, source in items:
        try:
            sandbox().parse(str(source or ""))
        except TemplateSyntaxError as error:
            where = f" (line {error.lineno} of the template)" if error.lineno > 1 else ""
            yield language, f"Jinja2 syntax error{where}: {error.message}"


def check_notification(build: Build, definition: Definition, item: Item) -> None:
    for part in ("subject", "body"):
        for language, message in template_problems(definition.body.get(part)):
            build.add(item.source.error((part, language) if language else (part,), message))


SCHEDULES = register_kind(Kind("schedule", "schedules", "schedule.schema.json",
                               check=check_schedule))
WEBHOOKS = register_kind(Kind("webhook", "webhooks", "webhook.schema.json",
                              check=check_webhook))
NOTIFICATIONS = register_kind(Kind("notification", "notifications",
                                   "notification.schema.json", check=check_notification))
