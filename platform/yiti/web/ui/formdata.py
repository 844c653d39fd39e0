"""Between form fields and record values.

Inputs are named by the path the record service uses in its errors: ``email`` for a
field, ``lines[2].qty`` for a field of the third line, so an error lands on its input
without translation tables. Browsers send text; the service parses it by field type
(``"12.50"`` into a Decimal, a ``datetime-local`` value in the site's time zone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from yiti.definitions.model import Entity, Field, Model
from yiti.errors import FieldProblem
from yiti.records.service import Records
from yiti.web.ui.i18n import say
from yiti.web.ui.present import input_value

LINE = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")


def editable(field: Field, actor_system: bool = False) -> bool:
    return not (field.read_only or field.formula) or actor_system


def _value(field: Field, form: MultiDict, name: str) -> Any:
    if field.type == "boolean":
        return "1" in form.getlist(name)
    raw = form.get(name)
    if raw is None:
        return None
    # An empty box is no value (null), as when an API caller leaves the field out, so
    # `filter=field:null` finds records made in either; text keeps its spaces otherwise.
    if not raw.strip():
        return None
    if field.type == "text":
        return raw.replace("\r\n", "\n")
    return raw.strip()


def values_from(model: Model, entity: Entity, form: MultiDict, files: MultiDict,
                recs: Records) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The values a submitted form sets, and problems found before the service sees them
    (JSON that does not parse). Only fields the form rendered are set."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for f in entity.fields.values():
        if not editable(f):
            continue
        if f.is_table:
            if f"{f.name}.present" in form:
                values[f.name], more = _lines(model, f, form, files, recs)
                problems += more
            continue
        if not _present(f, f.name, form, files):
            continue
        value, problem = _one(f, f.name, form, files, recs)
        if problem:
            problems.append(problem)
        values[f.name] = value
    return values, problems


def _present(f: Field, name: str, form: MultiDict, files: MultiDict) -> bool:
    return name in form or (f.type == "attachment" and f"{name}.file" in files)


def _one(f: Field, name: str, form: MultiDict, files: MultiDict, recs: Records
         ) -> tuple[Any, FieldProblem | None]:
    if f.type == "json":
        text = (form.get(name) or "").strip()
        if not text:
            return None, None
        try:
            return json.loads(text), None
        except ValueError:
            return text, FieldProblem(name, "is not valid JSON", "type")
    if f.type == "attachment":
        upload: FileStorage | None = files.get(f"{name}.file")
        if upload is not None and upload.filename:
            data = upload.read()
            return recs.store_file(upload.filename, upload.mimetype or "", data), None
        if form.get(f"{name}.clear"):
            return None, None
    return _value(f, form, name), None


def _lines(model: Model, table: Field, form: MultiDict, files: MultiDict, recs: Records
           ) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    child = model.entities[table.target or ""]
    indexes = sorted({int(m.group(2)) for key in [*form.keys(), *files.keys()]
                      if (m := LINE.match(key)) and m.group(1) == table.name})
    lines, problems = [], []
    for position, i in enumerate(indexes):
        line: dict[str, Any] = {}
        ident = form.get(f"{table.name}[{i}].id", "").strip()
        if ident.isdigit():
            line["id"] = int(ident)
        for f in child.fields.values():
            name = f"{table.name}[{i}].{f.name}"
            if f.is_table or not editable(f) or not _present(f, name, form, files):
                continue
            value, problem = _one(f, name, form, files, recs)
            if problem:  # report by position: that is the index the service will use
                problems.append(FieldProblem(f"{table.name}[{position}].{f.name}",
                                             problem.message, problem.code))
            line[f.name] = value
        lines.append(line)
    return lines, problems


def state_from_record(model: Model, entity: Entity, record: Mapping[str, Any], tz: str
                      ) -> dict[str, Any]:
    """Input values (text) of a record, lines as lists of dicts."""
    state: dict[str, Any] = {}
    for f in entity.fields.values():
        if f.is_table:
            child = model.entities[f.target or ""]
            state[f.name] = [
                {**{c.name: input_value(c, line.get(c.name), tz=tz)
                    for c in child.fields.values() if not c.is_table},
                 "id": str(line.get("id") or "")}
                for line in record.get(f.name) or []]
        else:
            state[f.name] = input_value(f, record.get(f.name), tz=tz)
    return state


def state_from_form(model: Model, entity: Entity, form: MultiDict) -> dict[str, Any]:
    """Input values as the user typed them, to show again after a refused save."""
    state: dict[str, Any] = {}
    for f in entity.fields.values():
        if f.is_table:
            child = model.entities[f.target or ""]
            indexes = sorted({int(m.group(2)) for key in form.keys()
                              if (m := LINE.match(key)) and m.group(1) == f.name})
            state[f.name] = [
                {**{c.name: _raw(c, form, f"{f.name}[{i}].{c.name}")
                    for c in child.fields.values() if not c.is_table},
                 "id": form.get(f"{f.name}[{i}].id", "")}
                for i in indexes]
        else:
            state[f.name] = _raw(f, form, f.name)
    return state


def _raw(f: Field, form: MultiDict, name: str) -> str:
    if f.type == "boolean":
        return "1" if "1" in form.getlist(name) else ""
    return form.get(name, "")


def blank_line(child: Entity) -> dict[str, str]:
    """A new line's inputs, with the child fields' literal defaults."""
    out = {"id": ""}
    for f in child.fields.values():
        if f.is_table:
            continue
        default = f.default if f.default not in (None, "today", "now") and not isinstance(
            f.default, dict) else None
        out[f.name] = input_value(f, default, tz="UTC")
    return out


def errors_by_input(problems: list[FieldProblem]) -> dict[str, list[str]]:
    """Each input's problems, said in the reader's language."""
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.field, []).append(say(p.message))
    return out
