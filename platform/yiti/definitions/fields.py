"""One field's specification → a :class:`~yiti.definitions.model.Field`.

Checks what the JSON Schema cannot say simply (which keys apply to which type, scale
against precision, defaults against options) and applies the language's defaults.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from yiti.errors import DefinitionError

from .build import FieldDraft
from .model import Field as FieldModel
from .model import Label, Location, Option

#: Keys every field type accepts.
COMMON_KEYS = frozenset(
    {"type", "label", "help", "required", "unique", "default", "read_only", "indexed",
     "renamed_from", "convert", "formula", "required_if"}
)

_TEXTUAL = frozenset({"max_length", "pattern", "min", "max"})
_NUMERIC = frozenset({"precision", "scale", "min", "max"})

#: Keys each type accepts beyond :data:`COMMON_KEYS`.
TYPE_KEYS: dict[str, frozenset[str]] = {
    "string": _TEXTUAL, "email": _TEXTUAL, "phone": _TEXTUAL, "url": _TEXTUAL,
    "text": frozenset({"pattern", "min", "max"}),
    "integer": frozenset({"min", "max"}),
    "decimal": _NUMERIC, "percent": _NUMERIC,
    "money": _NUMERIC | {"currency", "currency_field"},
    "boolean": frozenset(), "json": frozenset(), "attachment": frozenset(),
    "date": frozenset({"min", "max"}), "datetime": frozenset({"min", "max"}),
    "select": frozenset({"options"}),
    "link": frozenset({"entity", "on_delete", "within"}),
    "table": frozenset({"entity"}),
}

#: Common keys some types refuse: a table is not a column, JSON cannot be compared.
REFUSED_KEYS: dict[str, frozenset[str]] = {
    "table": frozenset({"unique", "default", "indexed", "formula", "convert"}),
    "json": frozenset({"unique", "indexed"}),
    "attachment": frozenset({"unique"}),
    "boolean": frozenset({"unique"}),
}

MAX_LENGTH = {"string": 140, "email": 254, "phone": 32, "url": 2048}
PRECISION_SCALE = {"decimal": (18, 6), "money": (18, 2), "percent": (7, 4)}
MAX_PRECISION = 18
DEFAULT_CURRENCY = "CNY"


def humanise(name: str) -> str:
    """``customer_name`` → ``Customer name``."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def make_label(value: Any, name: str) -> Label:
    """A label from a string, a language map, or (when None) the humanised ``name``."""
    if value is None:
        return MappingProxyType({"en": humanise(name)})
    if isinstance(value, str):
        return MappingProxyType({"en": value})
    return MappingProxyType(dict(value))


def text_map(value: Any) -> Label:
    """An optional label (help, description): empty when not given."""
    if value is None:
        return MappingProxyType({})
    return make_label(value, "")


def default_max_length(type_: str) -> int | None:
    return MAX_LENGTH.get(type_)


def _types_taking(key: str) -> list[str]:
    return [t for t, keys in TYPE_KEYS.items() if key in keys]


def resolve_field(draft: FieldDraft) -> tuple[FieldModel | None, list[DefinitionError]]:
    """The field and its problems, or None when it has no type.

    A field with problems is still made, from its keys that are fine (a bad default is
    left out), so that forms, views, workflows and the rest see a field that exists rather
    than report it as unknown: the problems alone say what to fix, and a load with
    problems never becomes a site's model (``yiti check`` leaves such an entity out of
    the checks that need its values).
    """
    spec, problems = draft.spec, []
    type_ = spec.get("type")
    if type_ is None:
        return None, [draft.spot.error("missing required key 'type'", None, "type")]
    if type_ not in TYPE_KEYS:  # refused by the schema already; nothing to stand for
        return None, []
    allowed = COMMON_KEYS | TYPE_KEYS[type_]
    for key in spec:
        if key not in allowed or key in REFUSED_KEYS.get(type_, ()):
            takers = _types_taking(key)
            hint = f"'{key}' is for {', '.join(takers)} fields" if takers else None
            problems.append(
                draft.where(key).error(f"{key!r} does not apply to a {type_} field", hint)
            )
    if type_ in ("link", "table") and "entity" not in spec:
        what = "the entity linked to" if type_ == "link" else "the child entity of the lines"
        problems.append(
            draft.spot.error(f"a {type_} field needs 'entity': {what}", None, "type")
        )

    values: dict[str, Any] = {}
    if type_ in MAX_LENGTH:
        values["max_length"] = spec.get("max_length", MAX_LENGTH[type_])
    if type_ in PRECISION_SCALE:
        problems.extend(_numeric(draft, type_, values))
    if type_ == "money":
        if "currency" in spec and "currency_field" in spec:
            problems.append(
                draft.where("currency_field").error(
                    "give 'currency' or 'currency_field', not both",
                    "currency fixes one currency; currency_field reads it from another field",
                )
            )
        values["currency_field"] = spec.get("currency_field")
        values["currency"] = (
            None if values["currency_field"] else spec.get("currency", DEFAULT_CURRENCY)
        )
    if type_ == "select":
        values["options"], more = _options(draft)
        problems.extend(more)
    if type_ == "link":
        values["on_delete"] = spec.get("on_delete", "restrict")
        if values["on_delete"] == "set null" and spec.get("required"):
            problems.append(
                draft.where("on_delete").error(
                    "on_delete 'set null' cannot apply to a required field",
                    "use 'restrict' or 'cascade', or make the field optional",
                )
            )
    if "pattern" in spec:
        try:
            re.compile(spec["pattern"])
        except re.error as exc:
            problems.append(draft.where("pattern").error(f"invalid regular expression: {exc}"))
    for key in ("min", "max", "default"):
        if key in spec and key in allowed:
            try:
                values[key] = _value(type_, spec[key], key, values)
            except ValueError as exc:
                problems.append(draft.where(key).error(str(exc)))
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None and _comparable(low, high) and low > high:
        problems.append(draft.where("max").error(f"max {high} is less than min {low}"))
        values.pop("max")
    return (
        FieldModel(
            name=draft.name,
            type=type_,
            label=make_label(spec.get("label"), draft.name),
            help=text_map(spec.get("help")),
            required=bool(spec.get("required", False)),
            unique=bool(spec.get("unique", False)),
            read_only=bool(spec.get("read_only", False)),
            indexed=bool(spec.get("indexed", False)),
            pattern=spec.get("pattern"),
            target=spec.get("entity"),
            within=spec.get("within"),
            renamed_from=spec.get("renamed_from"),
            convert=spec.get("convert"),
            formula=spec.get("formula"),
            required_if=spec.get("required_if"),
            location=Location(draft.spot.source.display, draft.spot.source.line(draft.spot.path)),
            required_if_at=_located(draft, "required_if"),
            **values,
        ),
        problems,
    )


def _located(draft: FieldDraft, key: str) -> Location | None:
    """Where ``key`` of the field was last set (an extension's file, maybe), if it was."""
    if key not in draft.spec:
        return None
    spot = draft.where(key)
    return Location(spot.source.display, spot.source.line(spot.path))


def _numeric(draft: FieldDraft, type_: str, values: dict[str, Any]) -> list[DefinitionError]:
    spec = draft.spec
    default_precision, default_scale = PRECISION_SCALE[type_]
    precision = spec.get("precision", default_precision)
    scale = spec.get("scale", min(default_scale, precision))
    values["precision"], values["scale"] = precision, scale
    if precision > MAX_PRECISION:
        return [draft.where("precision").error(
            f"precision {precision} is more than {MAX_PRECISION} digits"
        )]
    if scale > precision:
        return [draft.where("scale").error(
            f"scale {scale} is larger than precision {precision}",
            "scale counts the digits after the point, precision all the digits",
        )]
    return []


def _options(draft: FieldDraft) -> tuple[tuple[Option, ...], list[DefinitionError]]:
    options: list[Option] = []
    problems = []
    seen: set[str] = set()
    where = draft.where("options")
    for index, option in enumerate(draft.spec.get("options") or ()):
        if isinstance(option, str):
            value, label = option, MappingProxyType({"en": option})
        else:
            value = option["value"]
            label = make_label(option.get("label"), value) if "label" in option else (
                MappingProxyType({"en": value})
            )
        if value in seen:
            problems.append(where.error(f"option {value!r} is listed twice", None, index))
        seen.add(value)
        options.append(Option(value, label))
    if "options" not in draft.spec:
        problems.append(draft.spot.error("a select field needs 'options'", None, "type"))
    return tuple(options), problems


def _comparable(a: Any, b: Any) -> bool:
    return type(a) is type(b) or (
        isinstance(a, int | Decimal) and isinstance(b, int | Decimal)
    )


def _value(type_: str, value: Any, key: str, values: dict[str, Any]) -> Any:
    """A min, max or default converted to the field's kind of value; ValueError if wrong."""
    if value is None:
        return None
    bounds = key in ("min", "max")
    if bounds and (type_ in MAX_LENGTH or type_ == "text"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{key} of a {type_} field is a length: a whole number ≥ 0")
        return value
    if type_ == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{key} of an integer field must be a whole number, got {value!r}")
        return value
    if type_ in PRECISION_SCALE:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{key} of a {type_} field must be a number, got {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{key} of a {type_} field must be a number, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"{key} must be a finite number")
        return number
    if type_ == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"default of a boolean field must be true or false, got {value!r}")
        return value
    if type_ in ("date", "datetime"):
        if key == "default" and value in ("today", "now"):
            return value
        parse = dt.date.fromisoformat if type_ == "date" else dt.datetime.fromisoformat
        try:
            return parse(str(value))
        except ValueError:
            form = "YYYY-MM-DD" if type_ == "date" else "YYYY-MM-DDTHH:MM:SS"
            extra = " or 'today'" if type_ == "date" else " or 'now'"
            raise ValueError(
                f"{key} of a {type_} field must be a {type_} ({form}"
                f"{extra if key == 'default' else ''}), got {value!r}"
            ) from None
    if type_ == "select":
        allowed = [o.value for o in values.get("options", ())]
        if value not in allowed:
            raise ValueError(f"default {value!r} is not one of the options: {', '.join(allowed)}")
        return value
    if type_ in MAX_LENGTH or type_ in ("text", "link"):
        if not isinstance(value, str):
            raise ValueError(f"default of a {type_} field must be text, got {value!r}")
        limit = values.get("max_length")
        if limit and len(value) > limit:
            raise ValueError(f"default is longer than max_length {limit}")
        return value
    return value
