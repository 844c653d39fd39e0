"""Entities: drafts from files, then frozen :class:`Entity` objects with every reference checked.

:func:`take_entity` keeps an entity file as an :class:`EntityDraft` (stage one);
extensions change drafts (:mod:`.merge`); :func:`resolve_entities` then builds the
fields, checks each entity's own references (title, search, list, unique_together,
currency_field, rules, naming) and the references between entities (links, child tables).
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from yiti.errors import DefinitionError, did_you_mean

from .build import Build, EntityDraft, FieldDraft, Item, Spot
from .fields import make_label, resolve_field, text_map
from .kinds import ENTITIES, Kind, register_kind
from .model import SYSTEM_COLUMNS, Entity, Field, ListDefaults, Location, Naming, Rule

#: Tokens of a naming series besides the counter ``{#...#}``.
SERIES_TOKENS = ("YYYY", "YY", "MM", "DD")
_TOKEN = re.compile(r"\{([^{}]*)\}")


def take_entity(build: Build, item: Item) -> None:
    """Keep an entity file as a draft (or, when invalid, its name only)."""
    data, source = item.data, item.source
    name = data.get("entity")
    if not isinstance(name, str):
        return
    if build.knows_entity(name):
        other = build.drafts[name].item.source if name in build.drafts else None
        where = f"{other.display}:{other.line(('entity',))}" if other else "another file"
        module = build.drafts[name].module if name in build.drafts else "?"
        build.add(source.error(
            ("entity",), f"duplicate entity {name!r}",
            f"already defined in {where} by pack {module!r}; use extends/ to change it",
        ))
        return
    if not item.valid:
        build.broken[name] = item.module
        return
    fields: dict[str, FieldDraft] = {}
    for field_name, spec in (data.get("fields") or {}).items():
        spot = Spot(source, ("fields", field_name))
        if field_name in SYSTEM_COLUMNS:
            build.add(spot.error(
                f"{field_name!r} is a system column every entity has",
                f"choose another name; reserved: {', '.join(SYSTEM_COLUMNS)}",
            ))
            continue
        fields[field_name] = FieldDraft(field_name, dict(spec), spot)
    draft = EntityDraft(name, item.module, item, dict(data), fields)
    draft.rules = [
        (rule, Spot(source, ("rules", index))) for index, rule in enumerate(data.get("rules", ()))
    ]
    build.drafts[name] = draft


register_kind(Kind("entity", "entities", "entity.schema.json", ENTITIES, take_entity, None))


def resolve_entities(build: Build) -> dict[str, Entity]:
    """Every draft as an :class:`Entity`; problems go to ``build``."""
    made: dict[str, dict[str, Any]] = {}
    for draft in build.drafts.values():
        fields: dict[str, Field] = {}
        for field_draft in draft.fields.values():
            field, problems = resolve_field(field_draft)
            for problem in problems:
                build.add(problem)
            if field is not None:
                fields[field.name] = field
        made[draft.name] = _entity_values(build, draft, fields)
    parents = _check_links(build, made)
    entities = {}
    for name, values in made.items():
        entities[name] = Entity(parent=parents.get(name), **values)
    return entities


def _entity_values(build: Build, draft: EntityDraft, fields: dict[str, Field]) -> dict[str, Any]:
    data = draft.data
    names = set(draft.fields)  # includes fields that failed, to avoid repeated complaints
    stored = {n for n, f in draft.fields.items() if f.spec.get("type") != "table"}
    shown = stored | set(SYSTEM_COLUMNS)

    def need(spot: Spot, value: str, allowed: set[str], what: str = "field") -> None:
        if value in allowed:
            return
        if value in names:
            build.add(spot.error(f"{value!r} is a table field; a {what} must be a stored field"))
        else:
            build.add(spot.error(
                f"unknown field {value!r}", did_you_mean(value, sorted(allowed))
            ))

    if isinstance(data.get("title_field"), str):
        need(draft.where("title_field"), data["title_field"], shown)
    for index, value in enumerate(data.get("search_fields", ())):
        spot = draft.keys.get(f"search_fields.{value}") or draft.where("search_fields").at(index)
        need(spot, value, shown)
    for index, group in enumerate(data.get("unique_together", ())):
        for position, value in enumerate(group):
            need(Spot(draft.item.source, ("unique_together", index, position)), value, stored)
    listing = data.get("list", {})
    for key in ("columns", "sort"):
        for index, value in enumerate(listing.get(key, ())):
            need(draft.where(f"list.{key}").at(index), value.lstrip("-"), shown)
    for field in fields.values():
        if field.currency_field:
            need(Spot(*_key(draft, field.name, "currency_field")), field.currency_field, stored)
        if field.renamed_from and field.renamed_from in names:
            build.add(Spot(*_key(draft, field.name, "renamed_from")).error(
                f"renamed_from {field.renamed_from!r} names a field that still exists",
                "renamed_from is the field's former name; remove the old field or this key",
            ))
    rules = []
    for rule, spot in draft.rules:
        if rule.get("field") is not None:
            need(spot.at("field"), rule["field"], names)
        rules.append(Rule(
            condition=rule["condition"], message=make_label(rule["message"], ""),
            field=rule.get("field"), location=Location(spot.source.display, spot.source.line(spot.path)),
        ))
    naming = _naming(build, draft, stored)
    former = data.get("renamed_from")
    if former and build.knows_entity(former):
        build.add(draft.where("renamed_from").error(
            f"renamed_from {former!r} names an entity that still exists",
            "renamed_from is the entity's former name; remove the old entity or this key",
        ))
    if data.get("child") and data.get("submittable"):
        build.add(draft.where("submittable").error(
            "a child entity cannot be submittable", "its lines follow their parent's lifecycle"
        ))
    source = draft.item.source
    return dict(
        name=draft.name,
        module=draft.module,
        label=make_label(data.get("label"), draft.name),
        fields=MappingProxyType(fields),
        child=bool(data.get("child", False)),
        unique_together=tuple(tuple(group) for group in data.get("unique_together", ())),
        naming=naming,
        title_field=data.get("title_field"),
        search_fields=tuple(data.get("search_fields", ())),
        submittable=bool(data.get("submittable", False)),
        track_changes=bool(data.get("track_changes", True)),
        list_defaults=ListDefaults(**{
            k: tuple(v) if isinstance(v, list) else v for k, v in listing.items()
        }),
        rules=tuple(rules),
        renamed_from=data.get("renamed_from"),
        description=text_map(data.get("description")),
        location=Location(source.display, source.line(("entity",))),
    )


def _key(draft: EntityDraft, field: str, key: str) -> tuple[Any, Any]:
    spot = draft.fields[field].where(key)
    return spot.source, spot.path


def _naming(build: Build, draft: EntityDraft, stored: set[str]) -> Naming:
    naming = draft.data.get("naming")
    if not naming:
        return Naming()
    spot = draft.where("naming")
    series, by_field = naming.get("series"), naming.get("field")
    if series and by_field:
        build.add(spot.error("give 'series' or 'field', not both", None, "field"))
    if naming.get("gapless") and not series:
        build.add(spot.error("gapless applies to a series", None, "gapless"))
    if series:
        counters = 0
        for token in _TOKEN.findall(series):
            if token and set(token) == {"#"}:
                counters += 1
            elif token not in SERIES_TOKENS and token not in stored:
                # {field}: a stored field's value, so each value counts on its own
                build.add(spot.error(
                    f"unknown token {{{token}}} in series {series!r}",
                    did_you_mean(token, [*SERIES_TOKENS, *sorted(stored)])
                    or "tokens: {YYYY} {YY} {MM} {DD}, a stored field such as {channel}, "
                    "and a counter {#####}",
                    "series",
                ))
        if counters != 1:
            build.add(spot.error(
                f"series {series!r} needs exactly one counter like {{#####}}",
                "the number of # is the counter's width", "series",
            ))
    if by_field:
        if by_field not in stored:
            build.add(spot.error(
                f"unknown field {by_field!r}", did_you_mean(by_field, sorted(stored)), "field"
            ))
    return Naming(series=series, gapless=bool(naming.get("gapless", False)), field=by_field)


def _link_to_lines(spot: Spot, child: str, used: list[tuple[str, str]]) -> DefinitionError:
    """The problem of a link to a child entity without ``within``: a line is one of a
    document's lines, so the link must say which field names that document."""
    if not used:
        return spot.error(f"{child!r} is a child entity (lines of a document): a link "
                          "to a line needs 'within'", "link the document instead")
    parent, table_field = used[0]
    return spot.error(
        f"{child!r} is a child entity, the lines of {parent}.{table_field}: a link to a "
        "line needs 'within', the link field naming the document the line belongs to",
        f"add a link to the document (for example {parent}: {{type: link, entity: "
        f"{parent}}}) and say within: {parent}; or link the document alone, entity: "
        f"{parent}",
    )


def _within(build: Build, made: dict[str, dict[str, Any]], parents: dict[str, str],
            holder: str, field: Field, document: str) -> Field:
    """``field`` (a link of ``holder`` to lines of ``document``) with where its
    ``within`` field is: on ``holder``, or, for a line, on the line first, then on its
    parent document. A problem goes to ``build`` at the ``within`` key."""
    spot = build.drafts[holder].fields[field.name].where("within")
    owner = holder
    candidates = dict(made[holder]["fields"])
    on_parent = False
    if field.within not in candidates and holder in parents:
        parent_fields = made[parents[holder]]["fields"]
        if field.within in parent_fields:
            owner, candidates, on_parent = parents[holder], dict(parent_fields), True
    named = candidates.get(field.within or "")
    if named is None:
        links = sorted(n for n, f in candidates.items() if f.is_link and f.target == document)
        where = f"{holder!r}" + (f" or its document {parents[holder]!r}"
                                  if holder in parents else "")
        build.add(spot.error(
            f"unknown field {field.within!r}: within names a link field of {where}",
            did_you_mean(field.within or "", links) or
            f"add a link to the document ({field.within or 'document'}: {{type: link, "
            f"entity: {document}}}) and name it here",
        ))
    elif not named.is_link or named.target != document:
        build.add(spot.error(
            f"within names {owner}.{named.name}, which is not a link to {document!r}, "
            f"the document whose lines {field.target!r} are",
            f"name a field {{type: link, entity: {document}}}",
        ))
    return replace(field, within_parent=on_parent)


def _check_links(build: Build, made: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Check link and table targets; return each child entity's parent."""
    users: dict[str, list[tuple[str, str]]] = {}
    to_lines: list[tuple[Spot, str, Field]] = []  # links to a line: (spot, holder, field)
    for name, values in made.items():
        draft = build.drafts[name]
        for field in values["fields"].values():
            if field.target is None:
                continue
            spot = draft.fields[field.name].where("entity")
            if not build.knows_entity(field.target):
                build.add(spot.error(
                    f"unknown entity {field.target!r}",
                    did_you_mean(field.target, build.entity_names()),
                ))
                continue
            if not field.is_table:
                if field.target in made and made[field.target]["child"]:
                    to_lines.append((spot, name, field))
                elif field.within is not None:
                    build.add(draft.fields[field.name].where("within").error(
                        f"{field.target!r} is not a child entity: within applies to a "
                        "link to a line", "remove 'within'"))
                continue
            if field.target in build.broken:
                continue
            if not made[field.target]["child"]:
                build.add(spot.error(
                    f"{field.target!r} is not a child entity",
                    f"a table field's entity holds lines: set 'child: true' in {field.target!r}",
                ))
                continue
            users.setdefault(field.target, []).append((name, field.name))
    parents: dict[str, str] = {}
    for name, values in made.items():
        if not values["child"]:
            continue
        used = users.get(name, [])
        if not used and not build.broken:  # a broken entity may be the parent
            build.add(build.drafts[name].where("child").error(
                f"child entity {name!r} is used by no table field",
                "add a table field to its parent, or remove 'child: true'",
            ))
        elif len(used) > 1:
            first = ".".join(used[0])
            for parent, field_name in used[1:]:
                build.add(build.drafts[parent].fields[field_name].where("entity").error(
                    f"child entity {name!r} is already the lines of {first}",
                    "a child entity belongs to one table field: define another child entity",
                ))
        parents[name] = used[0][0] if used else None  # type: ignore[assignment]
    parents = {k: v for k, v in parents.items() if v}
    for spot, holder, field in to_lines:
        child = field.target or ""
        if field.within is None:
            build.add(_link_to_lines(spot, child, users.get(child, [])))
        elif child in parents and made[parents[child]]["child"]:
            build.add(spot.error(
                f"{child!r} holds lines of lines (of {parents[child]!r}): a link can name a "
                "line of a document, not a line of a line", None))
        elif child in parents:
            fields = dict(made[holder]["fields"])
            fields[field.name] = _within(build, made, parents, holder, field, parents[child])
            made[holder]["fields"] = MappingProxyType(fields)
    return parents
