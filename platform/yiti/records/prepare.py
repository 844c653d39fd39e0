"""Before a record is written: hooks, parsing, derived values and checks, in the
documented order (see docs/hooks.md), for one record or a batch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yiti.definitions.model import Entity, Model
from yiti.errors import FieldProblem, ValidationError
from yiti.records import formulas, hooks, line_links, links
from yiti.records.lookups import resolve as resolve_lookups
from yiti.records.transaction import Transaction
from yiti.records.validate import clean

if TYPE_CHECKING:
    from yiti.records.service import Record, Records


def prepare(records: Records, tx: Transaction, entity: Entity, doc: dict[str, Any],
            old: Record | None) -> None:
    """Hooks, checks and derived values, in the documented order."""
    _before_validate(records, tx, entity, doc, old)
    problems = _parsed(records, tx, entity, doc)
    if problems:
        raise ValidationError(problems, entity=entity.name)
    formulas.derive(records.model, entity, doc)
    problems = formulas.check_rules(records.model, entity, doc,
                                    lang=records.actor.attributes.get("language", "en"))
    problems += formulas.check_conditions(records.model, entity, doc)
    if problems:
        raise ValidationError(problems, entity=entity.name)
    links.check(records, tx, entity, doc, old)
    refused = line_links.problems(records, tx, entity, [doc], old=old)
    if refused:
        raise ValidationError(refused[0], entity=entity.name)
    hooks.run(records, entity, "validate", doc, old)


def prepare_many(records: Records, tx: Transaction, entity: Entity,
                 docs: list[dict[str, Any]], *, skip: set[int]
                 ) -> dict[int, list[FieldProblem]]:
    """:func:`prepare` for the new records of ``create_many``: the same steps in
    the same order for each record, with what is the same for every record worked
    out once (which hooks there are; whether the entity and its lines have links,
    formulas or conditions at all), and the links of all records checked together,
    in one query instead of one per link. Returns each refused row's
    problems by index; rows in ``skip`` are left alone.
    """
    model = records.model
    kinds = _with_children(model, entity)
    fields = [f for e in kinds for f in e.fields.values()]
    has_links = any(f.type in ("link", "attachment") for f in fields)
    has_formulas = any(f.formula for f in fields)
    has_conditions = any(f.required_if for f in fields)
    before_hooks = bool(records.site.hooks.for_event(entity.name, "before_validate"))
    validate_hooks = bool(records.site.hooks.for_event(entity.name, "validate"))
    lang = records.actor.attributes.get("language", "en")
    refused: dict[int, list[FieldProblem]] = {}
    for i, doc in enumerate(docs):
        if i in skip:
            continue
        try:
            if before_hooks:
                _before_validate(records, tx, entity, doc, None)
            problems = _parsed(records, tx, entity, doc, lookups=has_links)
            if problems:
                raise ValidationError(problems, entity=entity.name)
            if has_formulas:
                formulas.derive(model, entity, doc)
            problems = formulas.check_rules(model, entity, doc, lang=lang)
            if has_conditions:
                problems += formulas.check_conditions(model, entity, doc)
            if problems:
                raise ValidationError(problems, entity=entity.name)
        except ValidationError as error:
            refused[i] = error.problems
    if has_links:
        for i, problems in links.missing(records, tx, entity, docs, skip | set(refused)):
            refused[i] = problems
        if line_links.has_line_links(model, entity):
            refused.update(line_links.problems(records, tx, entity, docs,
                                               skip | set(refused)))
    if validate_hooks:
        for i, doc in enumerate(docs):
            if i in skip or i in refused:
                continue
            try:
                hooks.run(records, entity, "validate", doc, None)
            except ValidationError as error:
                refused[i] = error.problems
    return refused


def _before_validate(records: Records, tx: Transaction, entity: Entity,
                     doc: dict[str, Any], old: Record | None) -> None:
    """The ``before_validate`` hooks, given every link as its id (a number), however
    the caller gave it (an id, "12" from a form, ``{"id": 12}``, a lookup), so a hook
    comparing or reading links sees one form; other values are still as given."""
    if not records.site.hooks.for_event(entity.name, "before_validate"):
        return
    resolve_lookups(records, tx, entity, doc)  # what fails is reported by _parsed
    hooks.run(records, entity, "before_validate", doc, old)


def _parsed(records: Records, tx: Transaction, entity: Entity, doc: dict[str, Any], *,
            lookups: bool = True) -> list[FieldProblem]:
    """Links given as lookups resolved and every field parsed in place; all the
    problems, a failed lookup's in place of its field's."""
    problems = resolve_lookups(records, tx, entity, doc) if lookups else []
    failed = {p.field for p in problems}
    return problems + [p for p in clean(records.model, entity, doc,
                                        timezone=records.site.settings.timezone)
                       if p.field not in failed]


def _with_children(model: Model, entity: Entity) -> list[Entity]:
    """``entity`` and the entities of its lines, at any depth."""
    found = [entity]
    for e in found:
        found += [model.entities[f.target or ""] for f in e.table_fields
                  if model.entities[f.target or ""] not in found]
    return found
