"""Extensions: a pack (or the site overlay) adding to another pack's entity.

An extension file (``extends/*.yaml``) names the entity it extends. It may add fields at
the end, change an existing field's label, help, options (added by value), required,
required_if, default, read_only, indexed and max_length (wider only), replace the
entity's label, description and list defaults, and add search fields and rules. It never
changes a field's type. A pack extends only entities of packs it depends on, directly or not; the
site overlay may extend anything. Extensions apply in pack order.
"""

from __future__ import annotations

from typing import Any

from yiti.errors import did_you_mean

from .build import SITE, Build, FieldDraft, Item, Spot
from .fields import default_max_length
from .kinds import EXTENSIONS, Kind, register_kind
from .model import SYSTEM_COLUMNS

#: What an extension may change on an existing field.
CHANGEABLE = ("label", "help", "options", "required", "required_if", "default", "read_only",
              "indexed", "max_length")


def take_extension(build: Build, item: Item) -> None:
    """Apply one extension file to its entity's draft."""
    data, source = item.data, item.source
    name = data.get("extends")
    if not isinstance(name, str):
        return
    if not build.knows_entity(name):
        build.add(source.error(
            ("extends",), f"unknown entity {name!r}", did_you_mean(name, build.entity_names())
        ))
        return
    owner = build.drafts[name].module if name in build.drafts else build.broken[name]
    if item.module not in (SITE, owner) and owner not in build.depends.get(item.module, ()):
        manifest = build.modules[item.module].location if item.module in build.modules else None
        build.add(source.error(
            ("extends",),
            f"pack {item.module!r} cannot extend {name!r} of pack {owner!r}: "
            "it does not depend on it",
            f"add {owner!r} to depends in {manifest.path if manifest else 'module.yaml'}",
        ))
        return
    if not item.valid or name not in build.drafts:
        return
    draft = build.drafts[name]
    for key in ("label", "description"):
        if key in data:
            draft.data[key] = data[key]
            draft.keys[key] = Spot(source, (key,))
    for name_, spec in (data.get("fields") or {}).items():
        spot = Spot(source, ("fields", name_))
        if name_ in draft.fields:
            _change_field(build, draft.fields[name_], spec, spot)
        elif name_ in SYSTEM_COLUMNS:
            build.add(spot.error(f"{name_!r} is a system column every entity has",
                                 "choose another name"))
        else:
            if "type" not in spec:
                build.add(spot.error(
                    f"{draft.name!r} has no field {name_!r}; a new field needs a 'type'",
                    did_you_mean(name_, draft.fields),
                ))
                continue
            draft.fields[name_] = FieldDraft(name_, dict(spec), spot)
    if "search_fields" in data:
        current = list(draft.data.get("search_fields", ()))
        for index, value in enumerate(data["search_fields"]):
            if value not in current:
                current.append(value)
                draft.keys[f"search_fields.{value}"] = Spot(source, ("search_fields", index))
        draft.data["search_fields"] = current
    if "list" in data:
        listing = dict(draft.data.get("list", {}))
        for key, value in data["list"].items():
            listing[key] = value
            draft.keys[f"list.{key}"] = Spot(source, ("list", key))
        draft.data["list"] = listing
    for index, rule in enumerate(data.get("rules", ())):
        draft.rules.append((rule, Spot(source, ("rules", index))))


def _change_field(build: Build, field: FieldDraft, spec: dict[str, Any], spot: Spot) -> None:
    old_type = field.spec.get("type")
    for key, value in spec.items():
        where = spot.at(key)
        if key == "type":
            if value != old_type:
                build.add(where.error(
                    f"cannot change the type of {field.name!r} from {old_type} to {value}",
                    "an extension never changes a type; add a new field instead",
                ))
            continue
        if key not in CHANGEABLE:
            build.add(where.error(
                f"an extension cannot change {key!r} of an existing field",
                f"it may change: {', '.join(CHANGEABLE)}",
            ))
            continue
        if key == "max_length":
            before = field.spec.get("max_length", default_max_length(str(old_type)))
            if before is not None and value < before:
                build.add(where.error(
                    f"max_length may only grow: {value} is less than {before}",
                    "shortening a column could lose data",
                ))
                continue
        if key == "options" and isinstance(field.spec.get("options"), list):
            value = _merge_options(field.spec["options"], value)
        field.spec[key] = value
        field.keys[key] = where


def _merge_options(old: list[Any], new: list[Any]) -> list[Any]:
    """Options added by value; an option given again replaces its label."""
    def value_of(option: Any) -> Any:
        return option if isinstance(option, str) else option.get("value")

    merged = {value_of(o): o for o in old}
    for option in new:
        merged[value_of(option)] = option
    return list(merged.values())


register_kind(Kind(
    "extension", "extends", "extension.schema.json", EXTENSIONS, take_extension, None,
    key_name="extends",
))
