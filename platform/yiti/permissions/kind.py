"""The ``permissions`` kind of definition file, registered with the definitions loader.

A pack's ``permissions/*.yaml`` files are validated against
``metadata/permission.schema.json``, kept in ``Model.extra["permissions"]`` (one
definition per file, named ``<pack>.<file>`` so two packs may both grant to a role), and
checked once the entities are final: every entity, field and path must exist.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from yiti.definitions.build import Build, Item
from yiti.definitions.kinds import Kind, register_kind
from yiti.definitions.model import Definition, Entity, Location
from yiti.errors import did_you_mean
from yiti.permissions.rules import path_problem


def take_permissions(build: Build, item: Item) -> None:
    """Keep a permissions file, with the line of each table row for explanations."""
    data = item.data
    stem = data.get("permission") if isinstance(data.get("permission"), str) else None
    name = f"{item.module}.{stem or item.source.stem}"
    lines = {
        f"{key}.{i}": item.source.line((key, i))
        for key in ("access", "rows", "fields")
        for i in range(len(data.get(key) or ()))
    }
    definition = Definition(
        kind="permission", name=name, module=item.module, entity=None,
        body=MappingProxyType({**data, "_lines": lines}),
        location=Location(item.source.display, item.source.line(())),
    )
    build.definitions.setdefault("permissions", {})[name] = definition
    build.taken.append((item, definition))


def check_permissions(build: Build, definition: Definition, item: Item) -> None:
    """Entities, fields and row-rule paths must exist; a path compared with the user's
    name (``user: name``) must end at a text field."""
    body = definition.body

    def entity_at(name: str, where: tuple[Any, ...]) -> Entity | None:
        if name == "*":
            return None
        if not build.knows_entity(name):
            build.add(item.source.error(where, f"unknown entity {name!r}",
                                        did_you_mean(name, build.entity_names())))
        return build.entities.get(name)

    for i, row in enumerate(body.get("access") or ()):
        entity_at(row[1], ("access", i, 1))
    for i, spec in enumerate(body.get("rows") or ()):
        if spec["entity"] == "*":
            build.add(item.source.error(("rows", i, "entity"), "a row rule names one entity"))
            continue
        entity = entity_at(spec["entity"], ("rows", i, "entity"))
        if entity is not None and "field" in spec:
            problem = path_problem(build.entities, entity, spec["field"], spec.get("user"))
            if problem:
                build.add(item.source.error(("rows", i, "field"), *problem))
    for i, spec in enumerate(body.get("fields") or ()):
        entity = entity_at(spec["entity"], ("fields", i, "entity"))
        if entity is not None and spec["field"] not in entity.fields:
            build.add(item.source.error(
                ("fields", i, "field"), f"unknown field {spec['field']!r} of {entity.name!r}",
                did_you_mean(spec["field"], entity.fields)))


PERMISSIONS = register_kind(Kind(
    "permission", "permissions", "permission.schema.json",
    take=take_permissions, check=check_permissions,
))
