"""Computed fields, conditions and validation rules, evaluated in the scripting sandbox.

A field with ``formula`` is computed on every save: child lines first (a line total), then
the record (an order total as ``sum_of(lines, "line_total")``). A formula whose inputs are
blank gives blank. An entity's ``rules`` are checked after the fields are valid; each
false condition blames its field with its message. A field with ``required_if`` must have
a value while its condition holds (:func:`check_conditions`, on every save).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from yiti.definitions.model import Entity, Field, Model, label_text
from yiti.errors import FieldProblem, ValidationError
from yiti.messages import Message
from yiti.scripting import ExpressionError, ScriptProblem, compile_expression, record_names
from yiti.scripting.proxies import ReadOnlyRecord, record_proxy, set_name
from yiti.values import TEXT_TYPES, ValueProblem, parse


def derive(model: Model, entity: Entity, doc: dict[str, Any], *, prefix: str = "",
           parent: dict[str, Any] | ReadOnlyRecord | None = None) -> None:
    """Compute ``entity``'s formula fields in ``doc`` (and its lines'), in place."""
    seen_by_lines = None
    for f in entity.table_fields:
        child = model.entities[f.target or ""]
        if any(c.formula for c in child.fields.values()):
            if seen_by_lines is None:  # one view of the record for all its lines
                seen_by_lines = record_proxy({k: v for k, v in doc.items()
                                              if not isinstance(v, list)})
            for i, line in enumerate(doc.get(f.name) or []):
                derive(model, child, line, prefix=f"{prefix}{f.name}[{i}].",
                       parent=seen_by_lines)
    formulas = [f for f in entity.fields.values() if f.formula]
    if not formulas:
        return
    problems = []
    names = _names(model, entity, doc, parent)
    for f in formulas:
        try:
            value = _expression(entity, f).evaluate(names)
        except ExpressionError as error:
            if "NoneType" in error.message:  # a blank input: the result is blank too
                doc[f.name] = None
                set_name(names, f.name, None)  # the next formulas see the result
                continue
            problems.append(FieldProblem(f"{prefix}{f.name}",
                                         f"could not be computed: {error.message}", "formula"))
            continue
        try:
            doc[f.name] = parse(f, _rounded(f, value))
            set_name(names, f.name, doc[f.name])
        except ValueProblem as problem:
            problems.append(FieldProblem(f"{prefix}{f.name}",
                                         f"computed value {problem.message}", "formula"))
    if problems:
        raise ValidationError(problems, entity=entity.name)


def check_rules(model: Model, entity: Entity, doc: dict[str, Any], *, lang: str = "en"
                ) -> list[FieldProblem]:
    """The problems of ``entity``'s rules that don't hold for ``doc``."""
    if not entity.rules:
        return []
    names = _names(model, entity, doc, None)
    problems = []
    for i, rule in enumerate(entity.rules):
        loc = rule.location
        expr = compile_expression(rule.condition, filename=loc.path if loc else "<rule>",
                                  lineno=loc.line if loc else 1,
                                  name=f"{entity.name}.rules[{i}]")
        try:
            holds = expr.evaluate(names)
        except ExpressionError as error:
            problems.append(FieldProblem(rule.field or "", f"rule could not be checked: "
                                         f"{error.message}", "rule"))
            continue
        if not holds:
            problems.append(FieldProblem(rule.field or "", label_text(rule.message, lang),
                                         "rule"))
    return problems


def check_conditions(model: Model, entity: Entity, doc: dict[str, Any]) -> list[FieldProblem]:
    """Fields whose ``required_if`` holds for ``doc`` but which are blank, lines included
    (``lines[2].qty``), as "is required" problems; a condition that fails to run is one too.
    """
    found, problems = _required(model, entity, doc, "", None)
    for path, value in found:
        if is_blank(value):
            message = (Message("needs at least one line") if isinstance(value, list)
                       else Message("is required"))
            problems.append(FieldProblem(path, message, "required"))
    return problems


def required_now(model: Model, entity: Entity, doc: dict[str, Any]) -> list[str]:
    """Paths of the fields whose ``required_if`` holds for ``doc`` (for the screens: a
    condition that cannot be evaluated yet does not make its field required)."""
    return [path for path, _ in _required(model, entity, doc, "", None)[0]]


def holds(model: Model, entity: Entity, source: str, doc: dict[str, Any], *,
          filename: str = "<condition>", lineno: int = 1, name: str = "") -> bool | None:
    """Whether the expression ``source`` over ``doc`` is true (a form's ``visible_if``);
    None when it cannot be evaluated (a blank input, a runtime error)."""
    try:
        expression = compile_expression(source, filename=filename, lineno=lineno, name=name)
        return bool(expression.evaluate(_names(model, entity, doc, None)))
    except ExpressionError:
        return None


def _required(model: Model, entity: Entity, doc: dict[str, Any], prefix: str,
              parent: dict[str, Any] | None
              ) -> tuple[list[tuple[str, Any]], list[FieldProblem]]:
    """(path, value) of each field required by its condition now, and the conditions that
    could not be evaluated. Blank inputs make a condition false, as they make formulas blank.
    """
    found: list[tuple[str, Any]] = []
    problems: list[FieldProblem] = []
    conditional = [f for f in entity.fields.values() if f.required_if]
    names = _names(model, entity, doc, parent) if conditional else {}
    for f in conditional:
        loc = f.required_if_at or f.location
        try:
            holds = compile_expression(
                f.required_if or "", filename=loc.path if loc else "<required_if>",
                lineno=loc.line if loc else 1, name=f"{entity.name}.{f.name}.required_if",
            ).evaluate(names)
        except ExpressionError as error:
            if "NoneType" not in error.message:
                problems.append(FieldProblem(f"{prefix}{f.name}", "required_if could not be "
                                             f"checked: {error.message}", "required_if"))
            continue
        if holds:
            found.append((f"{prefix}{f.name}", doc.get(f.name)))
    for table in entity.table_fields:
        child = model.entities[table.target or ""]
        if not any(c.required_if for c in child.fields.values()):
            continue
        for i, line in enumerate(doc.get(table.name) or []):
            more, bad = _required(model, child, line, f"{prefix}{table.name}[{i}].", doc)
            found += more
            problems += bad
    return found, problems


def is_blank(value: Any) -> bool:
    """No value: None, empty or whitespace-only text, no lines."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _expression(entity: Entity, f: Field) -> Any:
    loc = f.location
    return compile_expression(f.formula or "", filename=loc.path if loc else "<formula>",
                              lineno=loc.line if loc else 1, name=f"{entity.name}.{f.name}")


def _names(model: Model, entity: Entity, doc: dict[str, Any],
           parent: dict[str, Any] | ReadOnlyRecord | None) -> dict[str, Any]:
    values = {k: doc.get(k) for k in entity.fields if not entity.fields[k].is_table}
    for key in ("id", "name", "docstatus"):
        if key in doc:
            values[key] = doc[key]
    children = {f.name: doc.get(f.name) or [] for f in entity.table_fields}
    if isinstance(parent, dict):
        parent = {k: v for k, v in parent.items() if not isinstance(v, list)}
    return record_names(values, children, parent=parent)


def _rounded(f: Field, value: Any) -> Any:
    """Money and decimals computed with more places are rounded half up to the field's scale."""
    if f.type in ("decimal", "money", "percent") and isinstance(value, (Decimal, int)):
        from yiti.values import DECIMAL_DEFAULTS

        scale = f.scale if f.scale is not None else DECIMAL_DEFAULTS[f.type][1]
        return Decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return value


def check_model(model: Model) -> list[Any]:
    """Compile every formula, ``required_if`` and rule of ``model``; the problems as
    DefinitionErrors.

    Unknown names are reported too (a misspelt field), with a "did you mean" hint, and
    attributes the field's value does not have (``employee.allowance`` on a link).
    """
    found = []
    for entity in model.entities.values():
        names = {*entity.fields, "doc", "id", "name", "docstatus"}
        if entity.parent:
            names.add("parent")
        for f in entity.fields.values():
            if f.formula:
                loc = f.location
                found += check_formula(
                    f.formula, entity, model.entities, filename=loc.path if loc else entity.name,
                    lineno=loc.line if loc else 0, name=f"fields.{f.name}.formula", names=names)
            if f.required_if:
                loc = f.required_if_at or f.location
                found += check_formula(
                    f.required_if, entity, model.entities,
                    filename=loc.path if loc else entity.name, lineno=loc.line if loc else 0,
                    name=f"fields.{f.name}.required_if", names=names)
        for i, rule in enumerate(entity.rules):
            loc = rule.location
            found += check_formula(
                rule.condition, entity, model.entities,
                filename=loc.path if loc else entity.name, lineno=loc.line if loc else 0,
                name=f"rules[{i}].condition", names=names)
    return [p.to_definition_error() for p in found]


def check_formula(source: str, entity: Entity, entities: Mapping[str, Entity], *,
                  filename: str, lineno: int, name: str, names: Iterable[str],
                  shadowed: Iterable[str] = ()) -> list[ScriptProblem]:
    """Every problem of a formula over ``entity``'s records, for ``yiti check``: what
    :func:`yiti.scripting.check_expression` finds, and attributes read from fields whose
    value has no such attribute (:func:`attribute_problems`). ``shadowed``: names the
    caller binds to something else than the field of that name (a workflow's ``user``)."""
    from yiti.scripting import check_expression

    return [*check_expression(source, filename=filename, lineno=lineno, name=name, names=names),
            *attribute_problems(source, entity, entities, filename=filename, lineno=lineno,
                                name=name, shadowed=shadowed),
            *option_problems(source, entity, entities, filename=filename, lineno=lineno,
                             name=name, shadowed=shadowed)]


def option_problems(source: str, entity: Entity, entities: Mapping[str, Entity], *,
                    filename: str, lineno: int, name: str, shadowed: Iterable[str] = ()
                    ) -> list[ScriptProblem]:
    """A select field compared with text that is none of its options (``kind ==
    'repiar'``): the comparison never holds, so its branch silently never runs."""
    from yiti.definitions.options import compared_options

    skip = set(shadowed)

    def field_of(steps: tuple[str, ...]) -> Field | None:
        held = None if steps[0] in skip else _held(steps, entity, entities)
        return held if isinstance(held, Field) else None

    return [ScriptProblem(filename, lineno + line - 1, message, "option", name)
            for line, message in compared_options(source, field_of)]


#: What a field's value is inside a formula (see :func:`_names`): the attributes the
#: sandbox allows on that type are the ones a formula may read. Links and attachments are
#: the id of the record or file; json is anything, so it is not checked.
VALUE_TYPES: dict[str, type] = {
    "integer": int, "decimal": Decimal, "money": Decimal, "percent": Decimal,
    "boolean": bool, "date": dt.date, "datetime": dt.datetime, "select": str,
    **dict.fromkeys(TEXT_TYPES, str),
}
_NOUNS = {int: "a whole number", Decimal: "a decimal number", bool: "true or false",
          dt.date: "a date", dt.datetime: "a date and time", str: "text"}
#: The system columns a formula sees besides the fields, as fields.
_COLUMNS = {"id": Field("id", "integer", {}), "name": Field("name", "string", {}),
            "docstatus": Field("docstatus", "select", {})}


def attribute_problems(source: str, entity: Entity, entities: Mapping[str, Entity], *,
                       filename: str, lineno: int, name: str, shadowed: Iterable[str] = ()
                       ) -> list[ScriptProblem]:
    """Attributes formula ``source`` reads from a field's value that the value does not
    have, at their line: a link's (its value is the linked record's id, a formula cannot
    follow it), a number's, a date's... Reads on records (``doc.qty``, ``lines[0].qty``,
    ``parent.channel``) and the methods the sandbox allows (``name.upper()``,
    ``order_date.year``) pass."""
    from yiti.scripting import attribute_reads

    skip = set(shadowed)
    problems = []
    for read in attribute_reads(source):
        if read.steps[0] in skip:
            continue
        held = _held(read.steps, entity, entities)
        message = _refusal(held, read.target, read.attribute) if held is not None else None
        if message is not None:
            problems.append(ScriptProblem(filename, lineno + read.lineno - 1, message,
                                          "attribute", name))
    return problems


def _held(steps: tuple[str | None, ...], entity: Entity, entities: Mapping[str, Entity]
          ) -> Entity | Field | None:
    """What a path of a formula holds: a record (its entity), a field's value (the field;
    a table field: its lines), or None when the check cannot tell."""
    root = steps[0]
    held: Entity | Field | None
    if root == "doc":
        held = entity
    elif root == "parent":
        held = entities.get(entity.parent or "")
    else:
        held = entity.fields.get(root or "") or _COLUMNS.get(root or "")
    for step in steps[1:]:
        if isinstance(held, Entity) and step is not None:
            held = held.fields.get(step) or _COLUMNS.get(step)
        elif isinstance(held, Field) and held.is_table and step is None:
            held = entities.get(held.target or "")  # lines[0]: a line
        else:
            return None  # a value's attribute or item: not followed
        if held is None:
            return None
    return held


def _refusal(held: Entity | Field, target: str, attribute: str) -> str | None:
    """Why ``target.attribute`` cannot be read, or None when it can."""
    from yiti.errors import did_you_mean
    from yiti.scripting.access import ATTRIBUTES

    if isinstance(held, Entity):
        return None  # a record's field (unknown fields are reported when it runs)
    read = f"{target}.{attribute}"
    if held.type == "link":
        return (f"{target} is a link (the linked record's id): a formula cannot read {read}; "
                f"check it in a validate script or hook, which can read the {held.target} "
                "record, or copy the value into a field of this entity (docs/scripting.md, "
                "'Values of linked records')")
    if held.type == "attachment":
        return (f"{target} is an attachment (the file's id): a formula cannot read {read} "
                "(docs/scripting.md, 'Values of linked records')")
    if held.is_table:
        if attribute in ATTRIBUTES[tuple]:
            return None
        return (f"{target} is a table (its lines): a formula cannot read {read}; read a "
                f"line's field (lines[0].qty) or all of them (sum_of({target}, "
                f"{attribute!r}), values_of(...))")
    kind = VALUE_TYPES.get(held.type)
    if kind is None or attribute in ATTRIBUTES[kind]:
        return None
    hint = did_you_mean(attribute, sorted(ATTRIBUTES[kind]))
    return (f"{target} is a {held.type} field ({_NOUNS[kind]}): a formula cannot read {read}"
            + (f"; {hint}" if hint else ""))
