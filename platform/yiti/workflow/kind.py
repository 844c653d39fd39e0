"""The ``workflows`` kind of definition file: templates expanded, then checked.

Registered on import of :mod:`yiti.workflow` (``yiti check`` imports it). ``take``
expands ``use:``/``with:`` (see :mod:`.templates`) and keeps the expanded body;
``check`` refuses, each at its ``path:line: key``: an unknown entity, state field,
field, state or role; a state no transition reaches; a non-final state with no way out;
an escalation without its transition; a condition or ``set`` formula that does not
compile, names an unknown field or reads an attribute of a link (its value is an id); a
``field:``, ``of:`` or ``requester`` path that does not end at a field holding a user's
name; a script that does not compile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from yiti.definitions.build import Build, Item
from yiti.definitions.kinds import Kind, check_entity, register_kind, take_definition
from yiti.definitions.model import SYSTEM_COLUMNS, Definition, Entity
from yiti.definitions.source import KeyPath, Source
from yiti.definitions.validate import validate
from yiti.errors import did_you_mean
from yiti.permissions.rules import ADMINISTRATOR
from yiti.workflow import spec as specs
from yiti.workflow.templates import TemplateProblem, expand

#: Names a condition or ``set`` formula may use besides the entity's fields.
EXTRA_NAMES = ("doc", "id", "name", "docstatus", "user", "roles", "requester", "comment",
               "inputs")
#: Field types whose value can be a user's name (``{field: ...}``, ``of:``, ``requester:``).
USER_FIELD_TYPES = ("string", "text", "select", "email")
#: System columns holding a user's name (or a name that may be one).
USER_COLUMNS = ("created_by", "modified_by", "name")


def take_workflow(build: Build, item: Item) -> None:
    """Keep the workflow with its template (if any) expanded."""
    data = item.data
    if item.valid and isinstance(data, dict) and "use" not in data and not (
            "states" in data and "transitions" in data):
        build.add(item.source.error((), "a workflow needs states: and transitions:, or "
                                    "use: a template from workflows/ with its parameters",
                                    "see docs/workflow.md"))
        item.valid = False
    if item.valid and isinstance(data, dict) and "use" in data:
        try:
            body = expand(data)
        except TemplateProblem as problem:
            build.add(item.source.error(problem.key, problem.message, problem.hint))
            item.valid = False
            return
        expanded = _expanded_source(item.source, body)
        problems = validate(expanded, "workflow.schema.json")
        if problems:
            for p in problems:
                build.add(type(p)(p.path, p.line, p.key, f"{p.message} (in template "
                                  f"{data['use']!r})", p.hint))
            item.valid = False
            return
        item = Item(item.kind, expanded, item.module, item.valid)
    take_definition(build, item)


def _expanded_source(source: Source, body: dict[str, Any]) -> Source:
    """The expanded body, located: keys the file has keep their line, the rest point at
    ``with`` (or ``use``)."""
    lines = dict(source.lines)
    lines[()] = source.line(("with",)) if ("with",) in source.lines else source.line(("use",))
    return Source(source.path, body, lines)


def known_roles(build: Build) -> set[str]:
    """Roles the packs' permission files declare or grant, and Administrator."""
    roles = {ADMINISTRATOR}
    for definition in build.definitions.get("permissions", {}).values():
        body = definition.body
        roles.update(body.get("roles") or {})
        roles.update(row[0] for row in body.get("access") or () if row)
        roles.update(r["role"] for key in ("rows", "fields") for r in body.get(key) or ())
    return roles


def check_workflow(build: Build, definition: Definition, item: Item) -> None:
    check_entity(build, definition, item)
    entity = build.entities.get(definition.entity or "")
    if entity is None:
        return
    body = definition.body
    source = item.source
    for at, message, hint in problems(body, entity, build.entities, known_roles(build),
                                      source.path.as_posix(), source):
        build.add(source.error(at, message, hint))
    for at, message, hint in hook_problems(body, build.modules.get(definition.module or "")):
        build.add(source.error(at, message, hint))
    for at, message, hint in warnings(body, languages(build)):
        build.warn(source.warning(at, message, hint))


def languages(build: Build) -> list[str]:
    """The languages the site's labels are written in (packs, entities, fields), English
    first: a site with more than one expects each label in each."""
    found: dict[str, None] = {"en": None}
    labels = [*(m.label for m in build.modules.values()),
              *(e.label for e in build.entities.values()),
              *(f.label for e in build.entities.values() for f in e.fields.values())]
    for label in labels:
        if isinstance(label, Mapping):
            found.update(dict.fromkeys(label))
    return list(found)


def warnings(body: Any, langs: list[str]) -> Iterable[tuple[KeyPath, str, str | None]]:
    """What is not wrong but shows people something they cannot read: on a site of more
    than one language, a state or action without a label in one of them (the screens and
    the history then show its name: "sync", "complete"), and a condition whose refusal
    can reach people without a ``condition_message`` (they are told only that the action
    is not possible now)."""
    try:
        wf = specs.parse(body)
    except Exception:  # noqa: BLE001 - a malformed body is reported by the schema
        return
    example = "{" + ", ".join(f"{lang}: ..." for lang in langs) + "}"
    if len(langs) > 1:
        for name, state in wf.states.items():
            missing = _missing(state.label, langs)
            if missing:
                yield (("states", name, "label") if state.label else ("states", name),
                       f"state {name!r} has no label in {', '.join(missing)}: those readers "
                       f"see {name!r} on the record's page and in its history",
                       f"add label: {example}")
        for t in wf.transitions:
            where: KeyPath = ("transitions", t.index)
            missing = _missing(t.label, langs)
            if missing:
                yield ((*where, "label") if t.label else (*where, "action"),
                       f"action {t.action!r} has no label in {', '.join(missing)}: those "
                       f"readers see {t.action!r} on its button and in the history",
                       f"add label: {example}")
            missing = _missing(t.condition_message, langs) if t.condition_message else []
            if missing:
                yield ((*where, "condition_message"), f"condition_message has no text in "
                       f"{', '.join(missing)}", f"write it as {example}")
    for t in wf.transitions:
        if t.condition and not t.condition_message and any(
                all(o.condition for o in wf.leaving(s, t.action)) for s in t.sources):
            yield (("transitions", t.index, "condition"),
                   f"when the condition does not hold, people are told only that "
                   f"{t.action!r} is not possible now",
                   f"add condition_message: {example} saying what to do first")


def _missing(label: Any, langs: list[str]) -> list[str]:
    if not label:
        return list(langs)
    given = {"en"} if isinstance(label, str) else set(label)
    return [lang for lang in langs if lang not in given]


def hook_problems(body: Any, module: Any) -> Iterable[tuple[KeyPath, str, str | None]]:
    """``{hook: name}`` steps naming no function of the pack's hooks (``module``: the
    workflow's pack). A hooks module that does not import is reported by ``yiti check``
    at its own file, so its steps are not checked here."""
    import importlib
    import inspect

    from yiti.extensions import hooks_module

    try:
        wf = specs.parse(body)
    except Exception:  # noqa: BLE001 - a malformed body is reported by the schema
        return
    steps = [a for s in wf.states.values() for a in (*s.on_enter, *s.on_leave)
             if a.kind == "hook"]
    if not steps or module is None:
        return
    if not module.hooks:
        for step in steps:
            yield ((*step.path, "hook"), f"pack {module.name!r} has no hooks.py",
                   f"add {step.hook}(doc, ctx) to {module.name}/hooks.py")
        return
    try:
        base = hooks_module(module.name, module.hooks)
    except Exception:  # noqa: BLE001 - reported at the hooks' own file
        return
    for step in steps:
        owner, _, attr = step.hook.rpartition(".")
        where, found = "hooks.py", base
        if owner:
            where = f"hooks/{owner.replace('.', '/')}.py"
            try:
                found = importlib.import_module(f"{base.__name__}.{owner}")
            except ImportError:
                yield ((*step.path, "hook"), f"pack {module.name!r} has no module {where}",
                       None)
                continue
        if not callable(getattr(found, attr, None)):
            names = [n for n, v in vars(found).items()
                     if inspect.isfunction(v) and not n.startswith("_")]
            yield ((*step.path, "hook"), f"no function {attr!r} in {module.name}/{where}",
                   did_you_mean(attr, names))


def problems(body: Any, entity: Entity, entities: Any, roles: set[str], filename: str,
             source: Source | None = None) -> Iterable[tuple[KeyPath, str, str | None]]:
    """Every problem of an expanded workflow body: (key path, message, hint)."""
    wf = specs.parse(body)
    states = wf.states
    names = list(states)

    def line(path: KeyPath) -> int:
        return source.line(path) if source is not None else 1

    f = entity.fields.get(wf.state_field)
    if f is None:
        yield (("state_field",), f"{entity.name!r} has no field {wf.state_field!r} to hold "
               "the state", did_you_mean(wf.state_field, entity.fields)
               or f"add a select field {wf.state_field!r} with the states as options")
    elif f.type not in ("select", "string"):
        yield (("state_field",), f"{wf.state_field!r} is a {f.type} field; the state needs "
               "a select or string field", None)
    elif f.type == "select":
        values = [o.value for o in f.options]
        for name in names:
            if name not in values:
                yield (("states", name), f"state {name!r} is not an option of "
                       f"{entity.name}.{wf.state_field}", f"options: {', '.join(values)}")
    yield from _path(entity, entities, wf.requester, ("requester",))
    for i, name in enumerate(wf.watched or ()):
        if name not in entity.fields:
            yield (("watched", i), f"unknown field {name!r} of {entity.name!r}",
                   did_you_mean(name, entity.fields))
    initials = [s.name for s in states.values() if s.initial]
    if len(initials) > 1:
        yield (("states", initials[1], "initial"), "only one state can be initial",
               f"{initials[0]!r} already is")
    for name, state in states.items():
        where: KeyPath = ("states", name)
        for i, field_name in enumerate(state.editable or ()):
            if field_name not in entity.fields:
                yield ((*where, "editable", i), f"unknown field {field_name!r} of "
                       f"{entity.name!r}", did_you_mean(field_name, entity.fields))
        for i, who in enumerate(state.approvers):
            if who.kind == specs.BY_SYSTEM:
                yield ((*where, "approvers", i), "the system is no approver",
                       "use 'system' in a transition's by: for actions only pack code takes")
            yield from _who(who, entity, entities, roles, (*where, "approvers", i))
        if state.mode == "all" and not state.approvers:
            yield ((*where, "mode"), "mode 'all' needs approvers", None)
        if state.escalate and not wf.leaving(name, state.escalate):
            yield ((*where, "escalate"), f"no transition {state.escalate!r} leaves {name!r}",
                   did_you_mean(state.escalate, [t.action for t in wf.leaving(name)]))
        if state.time_limit is not None and not state.escalate:
            yield ((*where, "time_limit"), "a time limit needs 'escalate': the action "
                   "taken when it passes", None)
        for action in (*state.on_enter, *state.on_leave):
            yield from _action(action, entity, entities, roles, filename, line)
    for t in wf.transitions:
        where = ("transitions", t.index)
        for j, source_state in enumerate(t.sources):
            if source_state not in states:
                at = (*where, "from", j) if len(t.sources) > 1 or isinstance(
                    body["transitions"][t.index]["from"], list) else (*where, "from")
                yield (at, f"unknown state {source_state!r}", did_you_mean(source_state, names))
        if t.target != specs.BACK and t.target not in states:
            yield ((*where, "to"), f"unknown state {t.target!r}", did_you_mean(t.target, names))
        for i, who in enumerate(t.by):
            yield from _who(who, entity, entities, roles, (*where, "by", i))
        for item in t.inputs:
            at = (*where, "inputs", item.name)
            if item.name in specs.RESERVED_INPUTS:
                yield (at, f"{item.name!r} is a word of the action request itself",
                       f"name the input otherwise (reserved: {', '.join(specs.RESERVED_INPUTS)})")
            if item.like:
                problem = specs.like_problem(item.like, entities)
                if problem is not None:
                    yield ((*at, "like"), *problem)
                    continue
                item = specs.resolve_like(item, entities)
            if item.type == "select" and not item.options:
                yield ((*at, "type"), "a select input needs options", None)
            yield from _input_link(item, entities, at)
        if t.condition:
            yield from _formula(t.condition, entity, entities, filename,
                                line((*where, "condition")),
                                (*where, "condition"))
        yield from _set(t.set, entity, entities, filename, line, (*where, "set"))
    yield from _graph(wf)


def _input_link(item: specs.Input, entities: Any, at: KeyPath
                ) -> Iterable[tuple[KeyPath, str, str | None]]:
    """A link input names an entity whose records have a lookup of their own (not lines);
    ``entity`` belongs to link inputs only."""
    if item.type != "link":
        if item.entity:
            yield ((*at, "entity"), f"entity applies to a link input, not a {item.type} one",
                   "add type: link, or remove entity")
        return
    if not item.entity:
        yield ((*at, "type"), "a link input needs entity: the entity of the record it names",
               None)
        return
    target = entities.get(item.entity)
    if target is None:
        yield ((*at, "entity"), f"unknown entity {item.entity!r}",
               did_you_mean(item.entity, entities))
    elif target.child:
        parent = target.parent or next((e.name for e in entities.values()
                                        for f in e.table_fields if f.target == target.name),
                                       None)
        yield ((*at, "entity"), f"{item.entity!r} is a child entity (lines of "
               f"{parent or 'a document'}): an input cannot name a line, which has no "
               "lookup of its own",
               f"name the document instead{f', entity: {parent}' if parent else ''}")


def _graph(wf: specs.Workflow) -> Iterable[tuple[KeyPath, str, str | None]]:
    """Unreachable states, and states (not final) with no way out."""
    reached = {wf.initial.name}
    todo = [wf.initial.name]
    while todo:
        current = todo.pop()
        for t in wf.leaving(current):
            targets = [t.target] if t.target != specs.BACK else []
            for target in targets:
                if target in wf.states and target not in reached:
                    reached.add(target)
                    todo.append(target)
    for name, state in wf.states.items():
        if name not in reached:
            yield (("states", name), f"state {name!r} is unreachable: no transition from "
                   f"{wf.initial.name!r} leads to it", None)
        if not state.final and not wf.leaving(name):
            yield (("states", name), f"state {name!r} has no way out",
                   "add a transition from it, or mark it final: true")


def _who(who: specs.Who, entity: Entity, entities: Any, roles: set[str], at: KeyPath
         ) -> Iterable[tuple[KeyPath, str, str | None]]:
    if who.kind == "role" and who.value not in roles:
        yield ((*at, "role"), f"unknown role {who.value!r}",
               did_you_mean(who.value, sorted(roles)) or "declare it in a permissions/ file")
    elif who.kind == "field":
        yield from _path(entity, entities, who.value, (*at, "field"))
    elif who.kind == "attribute" and who.of:
        yield from _path(entity, entities, who.of, (*at, "of"))


def _path(entity: Entity, entities: Any, path: str, at: KeyPath
          ) -> Iterable[tuple[KeyPath, str, str | None]]:
    """Problems of a path naming a user (``requester``, a slot's ``field`` or ``of``):
    link fields, then a field whose value is the user's name."""
    current = entity
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part not in current.fields and part not in SYSTEM_COLUMNS:
            yield (at, f"unknown field {part!r} of {current.name!r}",
                   did_you_mean(part, current.fields))
            return
        if i == len(parts) - 1:
            yield from _user_field(current, part, path, at)
            return
        f = current.fields.get(part)
        if f is None or f.type != "link" or f.target not in entities:
            yield (at, f"{'.'.join(parts[:i + 1])!r} is not a link, so it has no fields", None)
            return
        current = entities[f.target]


def _user_field(entity: Entity, name: str, path: str, at: KeyPath
                ) -> Iterable[tuple[KeyPath, str, str | None]]:
    """The end of a user path must hold a user's name: the engine reads its value as one,
    so a link (an id) or a number would name a user nobody is."""
    f = entity.fields.get(name)
    if f is None:
        if name not in USER_COLUMNS:
            yield (at, f"{path!r} is the system column {name!r}, not a user's name",
                   f"name a field holding one: {', '.join(USER_COLUMNS)} or a string field")
        return
    if f.type in USER_FIELD_TYPES:
        return
    if f.type == "link":
        yield (at, f"{path!r} is a link (the linked record's id), not a user's name",
               f"follow it to the field holding the user's name: {path}.<field>")
    else:
        yield (at, f"{path!r} is a {f.type} field, not a user's name",
               f"name a field of type {', '.join(USER_FIELD_TYPES)} holding one")


def _formula(source: str, entity: Entity, entities: Any, filename: str, lineno: int,
             at: KeyPath) -> Iterable[tuple[KeyPath, str, str | None]]:
    from yiti.records.formulas import check_formula

    # user, roles, requester, comment and inputs are the action's, whatever the fields
    shadowed = set(EXTRA_NAMES) - {"doc", "id", "name", "docstatus"}
    for p in check_formula(source, entity, entities, filename=filename, lineno=lineno,
                           name="", names={*entity.fields, *EXTRA_NAMES}, shadowed=shadowed):
        yield (at, p.message, None)


def _set(values: Any, entity: Entity, entities: Any, filename: str, line: Any, at: KeyPath
         ) -> Iterable[tuple[KeyPath, str, str | None]]:
    for key, expression in (values or {}).items():
        if key not in entity.fields:
            yield ((*at, key), f"unknown field {key!r} of {entity.name!r}",
                   did_you_mean(key, entity.fields))
            continue
        yield from _formula(expression, entity, entities, filename, line((*at, key)),
                            (*at, key))


def _action(action: specs.Action, entity: Entity, entities: Any, roles: set[str],
            filename: str, line: Any) -> Iterable[tuple[KeyPath, str, str | None]]:
    if action.kind == "set":
        yield from _set(action.set, entity, entities, filename, line, (*action.path, "set"))
    elif action.kind == "script":
        from yiti.scripting import check_script

        for p in check_script(action.script, filename=filename,
                              lineno=line((*action.path, "script"))):
            yield ((*action.path, "script"), p.message, None)
    elif action.kind == "notify":
        from yiti.jobs.kind import template_problems

        for i, who in enumerate(action.notify):
            if not isinstance(who, str):
                yield from _who(who, entity, entities, roles, (*action.path, "notify", i))
        for part in ("subject", "body"):
            for language, message in template_problems(getattr(action, part)):
                key = (*action.path, part, language) if language else (*action.path, part)
                yield (key, message, "subject and body are Jinja2 templates: write {{ title }}, "
                       "{{ state }}... (docs/workflow.md)")


WORKFLOWS = register_kind(Kind("workflow", "workflows", "workflow.schema.json",
                               take=take_workflow, check=check_workflow, attr="workflows"))
