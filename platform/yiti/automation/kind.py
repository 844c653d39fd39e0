"""The ``scripts`` kind of definition file: server scripts and what runs them.

::

    script: mark_overdue
    entity: loan
    event: before_save          # a record event (docs/hooks.md), or api, or schedule
    code: |
      if doc.due_date and doc.due_date < today():
          doc.status = "overdue"

``yiti check`` compiles every script and reports syntax errors and forbidden names at
their line in the file.
"""

from __future__ import annotations

from types import MappingProxyType

from yiti.definitions.build import Build, Item
from yiti.definitions.kinds import Kind, check_entity, register_kind
from yiti.definitions.model import Definition, Location
from yiti.errors import DefinitionError, did_you_mean
from yiti.records.hooks import EVENTS

#: Besides record events: an API endpoint, or a job a schedule runs.
TRIGGERS = ("api", "schedule")


def take_script(build: Build, item: Item) -> None:
    data = item.data
    name = data.get("script") if isinstance(data.get("script"), str) else item.source.stem
    found = build.definitions.setdefault("scripts", {})
    if name in found:
        build.add(item.source.error(("script",), f"duplicate script {name!r}",
                                    f"already defined in {found[name].location}"))
        return
    code_line = item.source.line(("code",))
    # A block scalar (code: |) starts on the next line; an inline one on the same line.
    raw = item.source.path.read_text(encoding="utf-8").splitlines()
    inline = code_line <= len(raw) and raw[code_line - 1].split(":", 1)[-1].strip() not in (
        "|", ">", "|-", ">-", "|+", ">+")
    definition = Definition(
        kind="script", name=name, module=item.module,
        entity=data.get("entity") if isinstance(data.get("entity"), str) else None,
        body=MappingProxyType({**data, "_code_line": code_line if inline else code_line + 1}),
        location=Location(item.source.display, item.source.line(("script",))),
    )
    found[name] = definition
    build.taken.append((item, definition))


def check_script_definition(build: Build, definition: Definition, item: Item) -> None:
    from yiti.scripting import check_script

    body = definition.body
    event = body.get("event")
    if event not in EVENTS and event not in TRIGGERS:
        build.add(item.source.error(
            ("event",), f"unknown event {event!r}",
            did_you_mean(str(event), [*EVENTS, *TRIGGERS])))
    elif event in EVENTS and definition.entity is None:
        build.add(item.source.error(("event",), f"a {event} script needs an 'entity'"))
    check_entity(build, definition, item)
    for problem in check_script(body.get("code") or "", filename=item.source.display,
                                lineno=body["_code_line"], name=f"scripts.{definition.name}"):
        build.add(DefinitionError(problem.filename, problem.lineno, "code", problem.message))


register_kind(Kind("script", "scripts", "script.schema.json", take=take_script,
                   check=check_script_definition))
