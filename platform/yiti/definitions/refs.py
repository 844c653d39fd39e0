"""Forms, views, workflows and reports: kinds kept as data, checked against the entities.

Forms and views name fields; every name must be a field of their entity (a view's
columns may walk link fields: ``customer.city``). Workflows and reports are checked
for their entity only, until their language is defined.
"""

from __future__ import annotations

from typing import Any

from yiti.errors import DefinitionError, did_you_mean

from .build import Build, Item
from .kinds import Kind, check_entity, register_kind
from .model import SYSTEM_COLUMNS, Definition, Entity
from .options import compared_options
from .source import KeyPath, key_text

#: System columns a form may show (read-only): the rest are the engine's business.
FORM_SYSTEM_FIELDS = ("name", "docstatus", "created_at", "created_by", "modified_at",
                      "modified_by", "amended_from")


def _target(build: Build, definition: Definition, item: Item) -> Entity | None:
    """The definition's entity when it is known and was resolved, else report and None."""
    check_entity(build, definition, item)
    return build.entities.get(definition.entity or "")


def _unknown(build: Build, item: Item, path: KeyPath, name: str, entity: Entity) -> None:
    build.add(item.source.error(
        path, f"unknown field {name!r} of {entity.name!r}",
        did_you_mean(name, [*entity.fields, *SYSTEM_COLUMNS]),
    ))


def check_form(build: Build, definition: Definition, item: Item) -> None:
    """Every field of a form exists; table grids name child fields; tabs exist;
    ``visible_if`` names fields of the entity with expressions that compile."""
    entity = _target(build, definition, item)
    if entity is None:
        return
    body = definition.body
    tabs = [t.get("name") for t in body.get("tabs", ())]
    for index, name in enumerate(tabs):
        if name in tabs[:index]:
            build.add(item.source.error(("tabs", index, "name"), f"duplicate tab {name!r}"))
    seen: dict[str, KeyPath] = {}
    for s_index, section in enumerate(body.get("sections", ())):
        where: KeyPath = ("sections", s_index)
        if "tab" in section and section["tab"] not in tabs:
            build.add(item.source.error(
                (*where, "tab"), f"unknown tab {section['tab']!r}",
                did_you_mean(section["tab"], tabs) or "declare it under tabs:",
            ))
        items: list[tuple[KeyPath, Any]] = [
            ((*where, "columns", c, r), entry)
            for c, column in enumerate(section.get("columns", ()))
            for r, entry in enumerate(column)
        ] + [((*where, "fields", r), entry) for r, entry in enumerate(section.get("fields", ()))]
        for path, entry in items:
            _check_form_item(build, item, entity, path, entry, seen)
    _check_visible_if(build, item, entity, body.get("visible_if") or {})


def _check_visible_if(build: Build, item: Item, entity: Entity, conditions: Any) -> None:
    """Each ``visible_if`` key is a field of the entity; each expression compiles and
    names only the record's fields and helpers."""
    from yiti.scripting import check_expression

    names = {*entity.fields, "doc", "id", "name", "docstatus"}
    for name, expression in conditions.items():
        at: KeyPath = ("visible_if", name)
        if name not in entity.fields:
            _unknown(build, item, at, name, entity)
            continue
        for problem in check_expression(
                expression, filename=item.source.display, lineno=item.source.line(at),
                name=f"visible_if.{name}", names=names):
            build.add(problem.to_definition_error())
        for line, message in compared_options(str(expression), lambda steps: (
                entity.fields.get(steps[-1]) if steps[0] in (steps[-1], "doc") else None)):
            build.add(DefinitionError(item.source.display, item.source.line(at) + line - 1,
                                      key_text(at), message))


def _check_form_item(
    build: Build, item: Item, entity: Entity, path: KeyPath, entry: Any,
    seen: dict[str, KeyPath],
) -> None:
    name = entry if isinstance(entry, str) else entry["field"]
    at = path if isinstance(entry, str) else (*path, "field")
    if name in seen:
        build.add(item.source.error(at, f"field {name!r} is already on this form"))
        return
    seen[name] = at
    if name in FORM_SYSTEM_FIELDS:
        return
    field = entity.fields.get(name)
    if field is None:
        _unknown(build, item, at, name, entity)
        return
    columns = entry.get("columns") if isinstance(entry, dict) else None
    if columns is None:
        return
    if not field.is_table or field.target not in build.entities:
        if not field.is_table:
            build.add(item.source.error(
                (*path, "columns"), f"{name!r} is a {field.type} field; only table fields "
                "have grid columns",
            ))
        return
    child = build.entities[field.target]
    for index, column in enumerate(columns):
        if column not in child.fields and column not in FORM_SYSTEM_FIELDS:
            _unknown(build, item, (*path, "columns", index), column, child)


def check_view(build: Build, definition: Definition, item: Item) -> None:
    """Columns, filters and sort keys of a view name fields or paths through link fields."""
    entity = _target(build, definition, item)
    if entity is None:
        return
    for key in ("columns", "filters", "sort"):
        for index, value in enumerate(definition.body.get(key, ())):
            _check_path(build, item, (key, index), value.lstrip("-"), entity)


def _check_path(build: Build, item: Item, at: KeyPath, path: str, entity: Entity) -> None:
    parts = path.split(".")
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part in SYSTEM_COLUMNS and last:
            return
        field = entity.fields.get(part)
        if field is None:
            _unknown(build, item, at, part, entity)
            return
        if field.is_table:
            build.add(item.source.error(
                at, f"{part!r} is a table field; a list cannot show or filter it"
            ))
            return
        if last:
            return
        if not field.is_link:
            build.add(item.source.error(
                at, f"{part!r} is a {field.type} field; only link fields can be followed "
                f"in {path!r}",
            ))
            return
        if field.target not in build.entities:
            return  # reported where the link is defined
        entity = build.entities[field.target]


register_kind(Kind("form", "forms", "form.schema.json", check=check_form, attr="forms"))
register_kind(Kind("view", "views", "view.schema.json", check=check_view, attr="views"))
register_kind(Kind("workflow", "workflows", "workflow.schema.json", attr="workflows"))
register_kind(Kind("report", "reports", "report.schema.json", attr="reports"))
