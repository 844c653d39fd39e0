"""A workflow definition as frozen data: states, transitions, approver slots, actions.

Pure: :func:`parse` turns a workflow file's body (after any template was expanded, see
:mod:`yiti.workflow.templates`) into a :class:`Workflow`; nothing here touches a
database. The file format is ``metadata/workflow.schema.json``, explained in
docs/workflow.md.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BACK = "@back"
REQUESTER = "requester"
BY_SYSTEM = "system"
#: Names an input may not take: the action's own request keys (API body, form fields).
RESERVED_INPUTS = ("comment", "to", "version", "next", "action", "csrf_token")
#: The field types an input may have.
INPUT_TYPES = ("string", "text", "integer", "decimal", "money", "percent", "boolean", "date",
               "datetime", "select", "email", "phone", "url", "link")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Who:
    """One approver slot or allowed actor: a role, a user, a field path or an attribute."""

    kind: str  # requester | system | role | user | field | attribute
    value: str = ""
    of: str | None = None  # attribute: whose (a field naming a user); None: the requester
    label: Any = None

    def describe(self) -> str:
        if self.kind == REQUESTER:
            return "the requester"
        if self.kind == BY_SYSTEM:
            return "the system"
        if self.kind == "attribute":
            return f"the {self.value} of {self.of or 'the requester'}"
        return f"{self.kind} {self.value}"


@dataclass(frozen=True)
class Action:
    """Something done on entering or leaving a state."""

    kind: str  # set | script | hook | notify
    set: Mapping[str, str] = field(default_factory=dict)
    script: str = ""
    hook: str = ""
    before_write: bool = False  # hook: called before the write; its mapping is saved with it
    notify: tuple[Who | str, ...] = ()  # "approvers" or a Who
    subject: Any = None
    body: Any = None
    path: tuple[str | int, ...] = ()  # where in the file


@dataclass(frozen=True)
class State:
    name: str
    label: Any = None
    initial: bool = False
    final: bool = False
    submitted: bool = False
    cancelled: bool = False
    editable: tuple[str, ...] | None = None
    approvers: tuple[Who, ...] = ()
    mode: str = "any"
    time_limit: float | None = None  # seconds
    escalate: str | None = None
    on_enter: tuple[Action, ...] = ()
    on_leave: tuple[Action, ...] = ()

    @property
    def is_approval(self) -> bool:
        return bool(self.approvers)


@dataclass(frozen=True)
class Input:
    """A value the actor gives when taking an action (a carrier, a tracking number)."""

    name: str
    type: str = "string"  # "" until the field named by ``like`` gives it
    label: Any = None
    required: bool = False
    max_length: int | None = None
    min: Any = None
    max: Any = None
    options: tuple[tuple[str, Any], ...] = ()  # select: (value, label)
    like: str | None = None  # "entity.field": type, options, label and bounds from there
    entity: str | None = None  # link: the entity of the record it names (given as its id)


@dataclass(frozen=True)
class Transition:
    index: int
    action: str
    sources: tuple[str, ...]
    target: str
    label: Any = None
    by: tuple[Who, ...] = ()
    condition: str | None = None
    condition_message: Any = None  # a label: what the refusal says when it does not hold
    comment_required: bool = False
    approves: bool = False
    set: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[Input, ...] = ()


@dataclass(frozen=True)
class Workflow:
    name: str
    entity: str
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    state_field: str = "state"
    requester: str = "created_by"
    watched: tuple[str, ...] | None = None
    label: Any = None
    module: str | None = None
    location: str | None = None  # path:line of the file

    @property
    def initial(self) -> State:
        for state in self.states.values():
            if state.initial:
                return state
        return next(iter(self.states.values()))

    def actions(self) -> list[str]:
        return list(dict.fromkeys(t.action for t in self.transitions))

    def leaving(self, state: str, action: str | None = None) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources
                and (action is None or t.action == action)]

    def lifecycle(self) -> frozenset[str]:
        """Which of ``submit`` and ``cancel`` this workflow does itself: it has a state that
        submits (cancels) the record, so a plain submit (cancel) is refused
        (:func:`yiti.workflow.guard.guard_lifecycle`) and not offered."""
        states = self.states.values()
        return frozenset([*(["submit"] if any(s.submitted for s in states) else []),
                          *(["cancel"] if any(s.cancelled for s in states) else [])])


def parse_duration(value: Any) -> float:
    """``300``, ``"90m"``, ``"48h"`` or ``"2d"`` as seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (try '90m', '48h', '2d' or seconds)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_who(spec: Any) -> Who:
    if spec in (REQUESTER, BY_SYSTEM):
        return Who(spec)
    for kind in ("role", "user", "field", "attribute"):
        if kind in spec:
            return Who(kind, str(spec[kind]), spec.get("of"), spec.get("label"))
    raise ValueError(f"not an approver: {spec!r}")


def _actions(specs: Any, where: tuple[str | int, ...]) -> tuple[Action, ...]:
    out = []
    for i, spec in enumerate(specs or ()):
        path = (*where, i)
        if "set" in spec:
            out.append(Action("set", set=dict(spec["set"]), path=path))
        elif "script" in spec:
            out.append(Action("script", script=spec["script"], path=path))
        elif "hook" in spec:
            out.append(Action("hook", hook=spec["hook"],
                              before_write=bool(spec.get("before_write")), path=path))
        else:
            out.append(Action("notify", notify=tuple(
                n if n == "approvers" else parse_who(n) for n in spec["notify"]),
                subject=spec.get("subject"), body=spec.get("body"), path=path))
    return tuple(out)


def parse_inputs(specs: Any) -> tuple[Input, ...]:
    """A transition's ``inputs``: ``{name: {type, label, required, ...}}``."""
    out = []
    for name, spec in (specs or {}).items():
        spec = spec or {}
        like = spec.get("like")
        out.append(Input(
            name=name, type=spec.get("type") or ("" if like else "string"),
            label=spec.get("label"), required=bool(spec.get("required")),
            max_length=spec.get("max_length"), min=spec.get("min"), max=spec.get("max"),
            options=tuple((str(o["value"]), o.get("label")) if isinstance(o, Mapping)
                          else (str(o), None) for o in spec.get("options") or ()),
            like=like, entity=spec.get("entity")))
    return tuple(out)


def like_problem(like: str, entities: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """Why ``like`` names no field an input can copy: (message, hint), or None."""
    from yiti.errors import did_you_mean

    entity_name, _, field_name = like.partition(".")
    entity = entities.get(entity_name)
    if entity is None:
        return (f"unknown entity {entity_name!r}", did_you_mean(entity_name, entities))
    f = entity.fields.get(field_name)
    if f is None:
        return (f"unknown field {field_name!r} of {entity_name!r}",
                did_you_mean(field_name, entity.fields))
    if f.type not in INPUT_TYPES:
        return (f"{like} is a {f.type} field; an input can be like a field of type "
                f"{', '.join(INPUT_TYPES)}", None)
    return None


def resolve_like(item: Input, entities: Mapping[str, Any]) -> Input:
    """``item`` with what its ``like`` field gives (type, options, label, max_length, min,
    max), the input's own keys first; ``ValueError`` for a ``like`` naming no such field."""
    if not item.like:
        return item
    problem = like_problem(item.like, entities)
    if problem is not None:
        raise ValueError(f"input {item.name!r}: like {item.like!r}: {problem[0]}")
    entity_name, _, field_name = item.like.partition(".")
    f = entities[entity_name].fields[field_name]
    return dataclasses.replace(
        item, type=item.type or f.type, label=item.label or f.label or None,
        max_length=item.max_length if item.max_length is not None else f.max_length,
        min=item.min if item.min is not None else f.min,
        max=item.max if item.max is not None else f.max,
        options=item.options or tuple((o.value, o.label or None) for o in f.options),
        entity=item.entity or (f.target if f.type == "link" else None))


def resolve(wf: Workflow, entities: Mapping[str, Any]) -> Workflow:
    """``wf`` with its inputs' ``like`` resolved against the model's ``entities``."""
    if not any(i.like for t in wf.transitions for i in t.inputs):
        return wf
    return dataclasses.replace(wf, transitions=tuple(
        dataclasses.replace(t, inputs=tuple(resolve_like(i, entities) for i in t.inputs))
        for t in wf.transitions))


def parse(body: Mapping[str, Any], *, module: str | None = None,
          location: str | None = None) -> Workflow:
    """The :class:`Workflow` of an expanded, schema-valid body."""
    states = {}
    for name, spec in (body.get("states") or {}).items():
        spec = spec or {}
        limit = spec.get("time_limit")
        states[name] = State(
            name=name, label=spec.get("label"), initial=bool(spec.get("initial")),
            final=bool(spec.get("final")), submitted=bool(spec.get("submitted")),
            cancelled=bool(spec.get("cancelled")),
            editable=tuple(spec["editable"]) if spec.get("editable") is not None else None,
            approvers=tuple(parse_who(w) for w in spec.get("approvers") or ()),
            mode=spec.get("mode") or "any",
            time_limit=parse_duration(limit) if limit is not None else None,
            escalate=spec.get("escalate"),
            on_enter=_actions(spec.get("on_enter"), ("states", name, "on_enter")),
            on_leave=_actions(spec.get("on_leave"), ("states", name, "on_leave")),
        )
    transitions = []
    for i, spec in enumerate(body.get("transitions") or ()):
        sources = spec["from"]
        transitions.append(Transition(
            index=i, action=spec["action"],
            sources=(sources,) if isinstance(sources, str) else tuple(sources),
            target=spec["to"], label=spec.get("label"),
            by=tuple(parse_who(w) for w in spec.get("by") or ()),
            condition=spec.get("condition"), condition_message=spec.get("condition_message"),
            comment_required=spec.get("comment") == "required",
            approves=bool(spec.get("approves")), set=dict(spec.get("set") or {}),
            inputs=parse_inputs(spec.get("inputs")),
        ))
    watched = body.get("watched")
    return Workflow(
        name=body["workflow"], entity=body["entity"], states=states,
        transitions=tuple(transitions), state_field=body.get("state_field") or "state",
        requester=body.get("requester") or "created_by",
        watched=tuple(watched) if watched is not None else None, label=body.get("label"),
        module=module, location=location,
    )
