"""What a state does on entering or leaving, and the formulas of conditions and ``set``.

``set`` and ``script`` compute values saved with the transition itself (so a script's
change and the new state are one write), and so does a ``hook`` marked ``before_write``
(the fields of the mapping it returns); other hooks and ``notify`` run after the write,
in the same transaction (a hook that raises undoes the transition; notifications and
their e-mails leave only if it commits).

A transition's ``inputs`` (values the actor gives: a carrier, a tracking number) are
parsed here like field values (:func:`read_inputs`) and reach ``set`` formulas as
``inputs``, scripts as ``transition.inputs`` and hooks as ``ctx.transition["inputs"]``.
In a transition's formulas ``now()`` and ``today()`` are the time of the action.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from yiti.definitions.model import Field, Option, label_text
from yiti.errors import FieldProblem, Forbidden, NotFound, ValidationError, did_you_mean
from yiti.messages import Message
from yiti.permissions.policy import Actor
from yiti.permissions.users import users_with_role
from yiti.scripting import ExpressionError, compile_expression, record_names
from yiti.scripting.proxies import record_proxy
from yiti.values import ValueProblem, check_bounds, parse, parse_reference
from yiti.workflow import approvers
from yiti.workflow.spec import BY_SYSTEM, Action, Input, State, Transition, Workflow

if TYPE_CHECKING:
    from yiti.records.service import Records
    from yiti.site import Site
    from yiti.workflow.engine import Workflows

log = logging.getLogger(__name__)


def names(site: Site, wf: Workflow, record: Mapping[str, Any], actor: Actor,
          extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The names a condition or ``set`` formula sees: the record's fields, ``doc``,
    ``user`` and ``roles`` of the actor, and ``requester``."""
    entity = site.model.entities[wf.entity]
    values = {k: record.get(k) for k in entity.fields if not entity.fields[k].is_table}
    for key in ("id", "name", "docstatus"):
        if key in record:
            values[key] = record[key]
    children = {f.name: record.get(f.name) or [] for f in entity.table_fields}
    more = {"user": actor.name, "roles": tuple(sorted(actor.roles)),
            "requester": record.get(wf.requester) if "." not in wf.requester else None,
            "comment": None, **(extra or {})}
    return record_names(values, children, extra=more)


def _where(wf: Workflow) -> tuple[str, int]:
    if wf.location and ":" in wf.location:
        path, _, line = wf.location.rpartition(":")
        return path, int(line) if line.isdigit() else 1
    return wf.location or wf.name, 1


def holds(site: Site, wf: Workflow, condition: str, record: Mapping[str, Any],
          actor: Actor) -> bool:
    filename, line = _where(wf)
    expr = compile_expression(condition, filename=filename, lineno=line,
                              name=f"{wf.name}: condition")
    return bool(expr.evaluate(names(site, wf, record, actor)))


def read_inputs(site: Site, t: Transition, given: Mapping[str, Any] | None,
                records: Records) -> dict[str, Any]:
    """The inputs of ``t`` parsed from ``given``: a 422 naming each missing, unknown or
    malformed one (all together). A link input is the id of a record ``records``' actor
    may read, given as its id or a lookup (see :func:`link_input`)."""
    given = dict(given or {})
    known = {i.name: i for i in t.inputs}
    problems = []
    for key in given:
        if key not in known:
            hint = did_you_mean(key, known)
            takes = (f"takes {', '.join(known)}" if known else "takes no input")
            problems.append(FieldProblem(key, f"the {t.action} action {takes}"
                                         + (f"; {hint}" if hint else ""), "unknown"))
    out: dict[str, Any] = {}
    for item in t.inputs:
        f = input_field(item)
        try:
            if item.type == "link":
                value = link_input(records, item, given.get(item.name))
            else:
                value = parse(f, given.get(item.name), timezone=site.settings.timezone)
                check_bounds(f, value)
        except ValueProblem as problem:
            problems.append(FieldProblem(item.name, problem.message, problem.code))
            continue
        if item.required and value in (None, ""):
            problems.append(FieldProblem(item.name, Message(
                "is required to %(action)s: give %(input)s", action=t.label or t.action,
                input=item.label or item.name), "required"))
            continue
        out[item.name] = value
    if problems:
        raise ValidationError(problems)
    return out


def link_input(records: Records, item: Input, value: Any) -> int | None:
    """A link input's value as the id of a record ``records``' actor may read: given as
    its id (``12``, ``"12"``, ``{"id": 12}``) or as a lookup (``{"code": "ACME"}``, the
    one match among the records they may read), as a record's link field takes it. A
    record that does not exist and one they may not read get the same refusal, so the
    answer tells nothing about records they cannot see."""
    entity = item.entity or ""
    if value in (None, ""):
        return None
    if isinstance(value, Mapping) and value and "id" not in value:
        what = ", ".join(f"{k}={v!r}" for k, v in value.items())
        try:
            rows = records.list(entity, filters=list(value.items()), limit=2,
                                fields=["id"]).rows
        except ValidationError as error:
            raise ValueProblem(error.message, "link") from None
        if len(rows) != 1:
            raise ValueProblem(f"{'no' if not rows else 'more than one'} {entity} with "
                               f"{what}" + (" that you may read" if not rows else ""),
                               "link")
        return int(rows[0]["id"])
    ident = parse_reference(value)
    try:
        records.get(entity, ident)
    except (NotFound, Forbidden):
        raise ValueProblem(f"no {entity} with id {ident} that you may read", "link") from None
    return ident


def input_field(item: Input) -> Field:
    """An input as a field, so the field parsers and bounds apply to it."""
    return Field(name=item.name, type=item.type, label=item.label or {},
                 required=item.required, max_length=item.max_length, min=item.min,
                 max=item.max, options=tuple(Option(v, label or {}) for v, label in item.options),
                 target=item.entity)


def formula_extra(site: Site, context: Mapping[str, Any]) -> dict[str, Any]:
    """What a transition's formulas see besides the record: the comment, the inputs, and
    ``now()``/``today()`` as the time of the action."""
    at: dt.datetime | None = context.get("at")
    extra: dict[str, Any] = {"comment": context.get("comment"),
                             "inputs": record_proxy(dict(context.get("inputs") or {}))}
    if at is not None:
        zone = ZoneInfo(site.settings.timezone)
        extra["now"] = lambda: at.astimezone(zone)
        extra["today"] = lambda: at.astimezone(zone).date()
    return extra


def evaluate_set(site: Site, wf: Workflow, values: Mapping[str, str],
                 record: Mapping[str, Any], actor: Actor,
                 context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{field: formula}`` evaluated over the record (and the transition's ``context``)."""
    if not values:
        return {}
    filename, line = _where(wf)
    scope = names(site, wf, record, actor, formula_extra(site, context or {}))
    out = {}
    for key, source in values.items():
        try:
            out[key] = compile_expression(source, filename=filename, lineno=line,
                                          name=f"{wf.name}: set {key}").evaluate(scope)
        except ExpressionError as error:
            raise ValidationError(f"{wf.name}: set {key}: {error.message}", field=key) from None
    return out


def compute(site: Site, wf: Workflow, step: Action, record: Mapping[str, Any], actor: Actor,
            context: Mapping[str, Any]) -> dict[str, Any]:
    """The values a ``set``, ``script`` or ``before_write`` hook step gives (other steps
    give none)."""
    if step.kind == "set":
        return evaluate_set(site, wf, step.set, record, actor, context)
    if step.kind == "script":
        return run_script(site, wf, step, record, actor, context)
    if step.kind == "hook" and step.before_write:
        state = wf.states[str(step.path[1])]  # ("states", name, "on_enter", i)
        returned = _hook(site, wf, step, record, record, actor, state, context)
        if returned is not None and not isinstance(returned, Mapping):
            raise ValidationError(f"{wf.name}: hook {step.hook!r} must return the fields to "
                                  f"save (a dict) or None, not {type(returned).__name__}")
        return dict(returned or {})
    return {}


def run_script(site: Site, wf: Workflow, step: Action, record: Mapping[str, Any],
               actor: Actor, context: Mapping[str, Any]) -> dict[str, Any]:
    """Run a server script with the record as ``doc``; the fields it changed."""
    from yiti.automation.host import RecordsHost
    from yiti.scripting import default_runner

    entity = site.model.entities[wf.entity]
    doc = {k: record.get(k) for k in entity.fields}
    for key in ("id", "name"):
        doc[key] = record.get(key)
    filename, line = _where(wf)
    result = default_runner().run(
        step.script, filename=filename, lineno=line, name=f"{wf.name}: script", doc=doc,
        inputs={"transition": dict(context)},
        host=RecordsHost(site.records(actor), script=f"{wf.name}: script"))
    changed = result.doc or {}
    return {k: changed[k] for k in result.changed if k in entity.fields}


def after(engine: Workflows, wf: Workflow, step: Action, record: Mapping[str, Any],
          before: Mapping[str, Any], actor: Actor, state: State,
          context: Mapping[str, Any] | None = None) -> None:
    """Run a ``hook`` or ``notify`` step once the transition is written."""
    site = engine.site
    if step.kind == "hook" and not step.before_write:
        _hook(site, wf, step, record, before, actor, state, context)
    elif step.kind == "notify":
        notify(engine, wf, step, record, actor, state)


def hook_function(wf: Workflow, name: str) -> Any:
    """The pack's hook ``name``: a function of its hooks.py, or with a dotted name
    (``orders.release``) of a module of its hooks/ package."""
    base = f"yiti_packs.{wf.module}.hooks" if wf.module else None
    module = sys.modules.get(base) if base else None
    owner, _, attr = name.rpartition(".")
    if module is not None and owner:
        try:
            module = importlib.import_module(f"{base}.{owner}")
        except ImportError:
            module = None
    fn = getattr(module, attr, None) if module is not None else None
    if not callable(fn):
        where = f"hooks/{owner.replace('.', '/')}.py" if owner else "its hooks.py"
        raise ValidationError(f"{wf.name}: pack {wf.module!r} has no function {attr!r} "
                              f"in {where}")
    return fn


def _hook(site: Site, wf: Workflow, step: Action, record: Mapping[str, Any],
          before: Mapping[str, Any], actor: Actor, state: State,
          context: Mapping[str, Any] | None) -> Any:
    from yiti.records.hooks import HookContext

    fn = hook_function(wf, step.hook)
    return fn(dict(record), HookContext(site.records(actor), wf.entity,
                                        f"workflow:{state.name}", before,
                                        transition=dict(context or {})))


def recipients(engine: Workflows, wf: Workflow, step: Action, record: Mapping[str, Any],
               state: State) -> list[str]:
    """The users a ``notify`` step reaches (delegates of absent approvers included)."""
    site = engine.site
    now = engine.now()
    users: list[str] = []
    for who in step.notify:
        if who == "approvers":
            for task in engine.open_tasks(wf, record["id"], state.name):
                found = ([task["assignee"]] if task["assignee"]
                         else users_with_role(site, task["role"]))
                users += found
                users += [d for u in found if (d := approvers.delegate_of(site, u, now))]
            continue
        assert not isinstance(who, str)
        if who.kind == BY_SYSTEM:
            continue
        if who.kind == "role":
            users += users_with_role(site, who.value)
            continue
        try:
            name, _ = approvers.resolve(site, wf, record, who)
        except Exception:  # noqa: BLE001 - nobody to tell is no reason to refuse the action
            continue
        if name:
            users.append(name)
    return list(dict.fromkeys(users))


def notify(engine: Workflows, wf: Workflow, step: Action, record: Mapping[str, Any],
           actor: Actor, state: State) -> None:
    from yiti.jobs import jobs_of
    from yiti.jobs import notify as send
    from yiti.jobs.notifications import pick, resolve

    site = engine.site
    jobs = jobs_of(site)
    if jobs.recipient_resolver is None:
        jobs.recipient_resolver = lambda name: user_recipient(site, name)
    entity = site.model.entities[wf.entity]
    for user in recipients(engine, wf, step, record, state):
        if user == actor.name:
            continue
        lang = resolve(site, user).language
        title = f"{label_text(entity.label, lang)} {record.get('name') or record['id']}"
        waiting = "approvers" in step.notify
        default_subject = ({"en": f"{title} waits for your approval",
                            "zh-CN": f"{title} 等待您审批"} if waiting else
                           {"en": f"{title} is now {label_text(state.label) or state.name}",
                            "zh-CN": f"{title} 已{label_text(state.label, 'zh-CN') or state.name}"})
        link = f"/app/{wf.entity}/{record['id']}"
        context = {"title": title, "entity": label_text(entity.label, lang),
                   "state": label_text(state.label, lang) or state.name, "link": link,
                   "name": record.get("name"), "id": record["id"], "user": actor.name}
        subject = (_render(step.subject, lang, context, site) if step.subject
                   else pick(default_subject, lang))
        body = (_render(step.body, lang, context, site) if step.body
                else pick({"en": f"{title}: {label_text(state.label) or state.name}."
                           f" Open {link}", "zh-CN": f"{title}：{label_text(state.label, 'zh-CN')}。"
                           f"打开 {link}"}, lang))
        send(site, user, subject=subject, body=body, link=f"/app/{wf.entity}/{record['id']}",
             language=lang)


def _render(text: Any, lang: str, context: Mapping[str, Any], site: Site | None = None
            ) -> str:
    """A notify step's subject or body in ``lang``: a Jinja2 template in the notifications'
    sandbox (``yiti check`` checks its syntax); the text as written if it cannot render."""
    from jinja2 import TemplateError

    from yiti.jobs.notifications import pick, sandbox

    source = pick(text, lang)
    try:
        return sandbox(site, lang).from_string(source).render(**context).strip()
    except TemplateError:
        log.warning("workflow notify: cannot render %r", source, exc_info=True)
        return source


def user_recipient(site: Site, name: str) -> Any:
    """The recipient for a user: e-mail and language from ``yiti_user``."""
    from yiti.jobs import Recipient

    row = approvers.user_row(site, name)
    if row is None:
        return Recipient(name, name if "@" in name else None)
    return Recipient(name, row.get("email"), row.get("language") or "en")


def emit(site: Site, wf: Workflow, record: Mapping[str, Any], actor: Actor, source: str,
         target: str, action: str) -> None:
    """The ``transition`` webhook event, delivered only if the transaction commits."""
    if not site.model.extra.get("webhooks"):
        return
    from yiti.jobs import emit as send

    send(site, wf.entity, "transition", record, user=actor.name,
         extra={"from": source, "to": target, "action": action})
