"""What a screen shows, read from the definitions: list columns and filters, form layout,
and which fields a form hides or marks required for the values at hand.

Pure functions of the model (no request, no database), so pack authors can see how their
``views/`` and ``forms/`` files shape the screens, and tests can check it directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from yiti.definitions.model import Definition, Entity, Field, Label, Model, label_text
from yiti.records import formulas
from yiti.records.query import field_of
from yiti.web.ui.i18n import label_in_every_language

#: Field types offered as list columns when nothing says which.
LISTABLE = ("string", "integer", "decimal", "money", "percent", "boolean", "date", "datetime",
            "select", "link", "email", "phone", "url")

#: The screens' names of the system columns, translated in the catalogues under the
#: context "column" (msgctxt): the engine labels them in English only, and in Chinese a
#: record's name is its number (编号), not the 名称 packs give their title fields. The
#: document state is "Document status", so it never reads like a pack's own Status field.
#: Not extracted by pybabel: tests/web_ui/test_shown_values.py checks each is translated.
SYSTEM_LABELS = {
    "id": "ID", "name": "Name", "version": "Version", "created_at": "Created at",
    "modified_at": "Modified at", "created_by": "Created by", "modified_by": "Modified by",
    "parent_id": "Parent", "idx": "Line", "docstatus": "Document status",
}
#: The document states, as the list's badge shows them.
DOCSTATUS_LABELS = {"draft": "Draft", "submitted": "Submitted", "cancelled": "Cancelled"}


@dataclass(frozen=True)
class Column:
    """A list column: a field or a path through links (``customer.city``)."""

    path: str
    field: Field
    label: Label


@dataclass(frozen=True)
class ListSpec:
    columns: tuple[Column, ...]
    filters: tuple[Column, ...]
    sort: tuple[str, ...]
    page_size: int
    label: Label


@dataclass(frozen=True)
class Item:
    """A field placed on a form; for a table field, the child columns its grid shows."""

    field: Field
    label: Label
    read_only: bool = False
    columns: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Section:
    label: Label
    columns: tuple[tuple[Item, ...], ...]
    description: Label = field(default_factory=dict)
    collapsed: bool = False


@dataclass(frozen=True)
class Tab:
    name: str
    label: Label
    sections: tuple[Section, ...]


def view_of(model: Model, entity: Entity) -> Definition | None:
    """The entity's list view: the one named after it, else the first for it."""
    view = model.views.get(entity.name)
    if view is not None and view.entity == entity.name:
        return view
    return next((v for v in model.views.values() if v.entity == entity.name), None)


def form_of(model: Model, entity: Entity) -> Definition | None:
    form = model.forms.get(entity.name)
    if form is not None and form.entity == entity.name:
        return form
    return next((f for f in model.forms.values() if f.entity == entity.name), None)


def system_label(name: str) -> Label:
    """The label of the system column ``name`` in every language of the screens."""
    return label_in_every_language(SYSTEM_LABELS.get(name, name), "column")


def system_field(f: Field) -> Field:
    """A system column (``name``, ``created_at``, ``docstatus``) as the screens show it:
    labelled, and its options too, in every language of the screens."""
    options = tuple(replace(o, label=label_in_every_language(
        DOCSTATUS_LABELS.get(o.value) or label_text(o.label, "en"))) for o in f.options)
    label = system_label(f.name) if f.name in SYSTEM_LABELS else f.label
    return replace(f, label=label, options=options)


def screen_field(entity: Entity, name: str) -> Field | None:
    """The field ``name`` of ``entity`` for a screen: its own, or a system column labelled
    by :func:`system_field`."""
    f = field_of(entity, name)
    return system_field(f) if f is not None and name not in entity.fields else f


def resolve_path(model: Model, entity: Entity, path: str) -> Field | None:
    """The field at the end of ``path`` (through links), or None if it leads nowhere."""
    current = entity
    parts = path.split(".")
    for i, part in enumerate(parts):
        f = screen_field(current, part)
        if f is None:
            return None
        if i == len(parts) - 1:
            return f
        if not f.is_link:
            return None
        current = model.entities[f.target or ""]
    return None


def path_label(model: Model, entity: Entity, path: str) -> Label:
    """``Customer › City`` for a link path, in every language the labels have."""
    current, labels = entity, []
    for part in path.split("."):
        f = screen_field(current, part)
        if f is None:
            break
        labels.append(f.label)
        if f.is_link:
            current = model.entities[f.target or ""]
    if len(labels) == 1:
        return labels[0]
    langs = {lang for label in labels for lang in label} or {"en"}
    return {lang: " › ".join(label_text(label, lang) for label in labels) for lang in langs}


def _columns(model: Model, entity: Entity, paths: Any) -> tuple[Column, ...]:
    out = []
    for path in paths or ():
        f = resolve_path(model, entity, str(path))
        if f is not None and not f.is_table:
            out.append(Column(str(path), f, path_label(model, entity, str(path))))
    return tuple(out)


def list_spec(model: Model, entity: Entity) -> ListSpec:
    """Columns, filters, sort and page size: the view definition, else the entity's
    ``list`` defaults, else its first few fields."""
    view = view_of(model, entity)
    body: Mapping[str, Any] = view.body if view else {}
    defaults = entity.list_defaults
    paths = body.get("columns") or defaults.columns
    if not paths:
        paths = ([] if entity.child else ["name"]) + [
            f.name for f in entity.fields.values() if f.type in LISTABLE][:5]
    columns = _columns(model, entity, paths)
    filter_paths = body.get("filters") or [
        c.path for c in columns if "." not in c.path and c.field.type in LISTABLE]
    sort = tuple(body.get("sort") or defaults.sort)
    size = int(body.get("page_size") or defaults.page_size)
    return ListSpec(columns, _columns(model, entity, filter_paths), sort, size,
                    body.get("label") or entity.label)


def readable_spec(spec: ListSpec, model: Model, entity: Entity, records: Any) -> ListSpec:
    """``spec`` without the columns and filters the user may not read (a hidden field,
    or a link hop through one), so a role's list never asks for what it can't see."""

    def readable(path: str) -> bool:
        current = entity
        for part in path.split("."):
            allowed = records.policy.readable(records.actor, current)
            if allowed is not None and part not in allowed and part not in ("id", "name"):
                return False
            f = current.fields.get(part)
            if f is not None and f.is_link:
                current = model.entities[f.target or ""]
        return True

    return ListSpec(tuple(c for c in spec.columns if readable(c.path)),
                    tuple(c for c in spec.filters if readable(c.path)),
                    tuple(k for k in spec.sort if readable(k.lstrip("-"))) or ("-id",),
                    spec.page_size, spec.label)


def _item(model: Model, entity: Entity, raw: Any) -> Item | None:
    if isinstance(raw, str):
        raw = {"field": raw}
    f = entity.fields.get(str(raw.get("field")))
    if f is None:
        return None
    columns: tuple[Field, ...] = ()
    if f.is_table:
        child = model.entities[f.target or ""]
        names = raw.get("columns") or [c.name for c in child.fields.values()
                                       if not c.is_table]
        columns = tuple(child.fields[n] for n in names if n in child.fields)
    return Item(f, raw.get("label") or f.label, bool(raw.get("read_only")) or f.read_only
                or bool(f.formula), columns)


def form_layout(model: Model, entity: Entity) -> tuple[Tab, ...]:
    """Tabs of sections of columns of fields, from the form definition.

    Without a form, every field in order in one section. Fields the form forgets are added
    in a last section, so a pack extension's new field always has a place to be entered.
    """
    form = form_of(model, entity)
    body: Mapping[str, Any] = form.body if form else {}
    placed: set[str] = set()
    tabs_raw = list(body.get("tabs") or [])
    first_tab = tabs_raw[0]["name"] if tabs_raw else ""
    sections: dict[str, list[Section]] = {t["name"]: [] for t in tabs_raw} or {"": []}
    for raw in body.get("sections") or ():
        cols_raw = raw.get("columns") or [raw.get("fields") or []]
        columns = []
        for col in cols_raw:
            items = tuple(i for i in (_item(model, entity, r) for r in col) if i is not None)
            placed.update(i.field.name for i in items)
            columns.append(items)
        tab = raw.get("tab") if raw.get("tab") in sections else first_tab
        sections[tab].append(Section(raw.get("label") or {}, tuple(columns),
                                     raw.get("description") or {}, bool(raw.get("collapsed"))))
    rest = tuple(i for i in (_item(model, entity, f.name) for f in entity.fields.values()
                             if f.name not in placed) if i is not None)
    if rest:
        label: Label = {"en": "More", "zh-CN": "更多"} if placed else {}
        sections[list(sections)[-1]].append(Section(label, (rest,)))
    labels = {t["name"]: t.get("label") or {"en": t["name"]} for t in tabs_raw}
    return tuple(Tab(name, labels.get(name, {}), tuple(secs)) for name, secs in sections.items())


def layout_for(tabs: tuple[Tab, ...], model: Model, entity: Entity, records: Any
               ) -> tuple[Tab, ...]:
    """``tabs`` as the actor of ``records`` may see them: fields their field rules hide
    are left out (the record they read has no such key, and a form must not post them),
    and fields they may not write are shown as text. Sections left empty are dropped."""
    policy, actor = records.policy, records.actor

    def visible(e: Entity) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        return policy.readable(actor, e), policy.writable(actor, e)

    readable, writable = visible(entity)

    def item(i: Item) -> Item | None:
        name = i.field.name
        if readable is not None and name not in readable:
            return None
        columns = i.columns
        if i.field.is_table:
            child_read, _ = visible(model.entities[i.field.target or ""])
            if child_read is not None:
                columns = tuple(c for c in columns if c.name in child_read)
        read_only = i.read_only or (writable is not None and name not in writable)
        return Item(i.field, i.label, read_only, columns)

    out = []
    for tab in tabs:
        sections = []
        for s in tab.sections:
            columns = tuple(tuple(x for x in (item(i) for i in col) if x is not None)
                            for col in s.columns)
            if any(columns):
                sections.append(Section(s.label, columns, s.description, s.collapsed))
        out.append(Tab(tab.name, tab.label, tuple(sections)))
    return tuple(out)


@dataclass(frozen=True)
class FieldStates:
    """For the values at hand: the fields a form hides (its ``visible_if`` is false) and
    the fields its entity's ``required_if`` makes required (paths, lines included)."""

    hidden: tuple[str, ...]
    required: tuple[str, ...]


def conditional_fields(model: Model, entity: Entity) -> frozenset[str]:
    """The fields whose place on the form depends on the values: they have a
    ``visible_if`` on the entity's form or a ``required_if`` on the entity."""
    form = form_of(model, entity)
    shown = (form.body.get("visible_if") or {}) if form else {}
    return frozenset([*shown, *(f.name for f in entity.fields.values() if f.required_if)])


def field_states(model: Model, entity: Entity, doc: dict[str, Any]) -> FieldStates:
    """Evaluate the form's ``visible_if`` and the entity's ``required_if`` over ``doc``
    (typed values), in the formula sandbox.

    A condition that cannot be evaluated (a blank input) shows its field and does not make
    it required. A field that must have a value and has none is never hidden, so a save
    cannot be refused for a field the user cannot see.
    """
    required = formulas.required_now(model, entity, doc)
    form = form_of(model, entity)
    hidden = []
    for name, source in ((form.body.get("visible_if") or {}) if form else {}).items():
        f = entity.fields.get(name)
        if f is None:
            continue
        loc = form.location if form else None
        shown = formulas.holds(model, entity, source, doc,
                               filename=loc.path if loc else "<form>",
                               lineno=loc.line if loc else 1,
                               name=f"{entity.name}.visible_if.{name}")
        must = f.required or name in required
        if shown is False and not (must and formulas.is_blank(doc.get(name))):
            hidden.append(name)
    return FieldStates(tuple(hidden), tuple(required))
