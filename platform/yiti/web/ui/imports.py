"""Import records from CSV or XLSX: all rows or none, with a report of every refused row.

:func:`read_table` turns a file into a header and rows; :func:`run_import` maps the
columns to fields and hands every row to ``records.create_many`` in one transaction, so a
file with one bad row saves nothing. The report lists row number (as the spreadsheet
numbers it: the header is row 1), field and message; :func:`rejected_file` writes the
refused rows with their reasons, to fix and import again.

``run_import`` takes the file's path, the site and the actor, and reports progress
through a callback. Small files are imported in the request; large ones (see
:data:`BACKGROUND_ROWS`) by the ``ui.import`` job on the queue, whose progress the
import screen shows (:func:`import_job`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yiti.definitions.model import Entity, Field, label_text
from yiti.errors import ValidationError, YitiError
from yiti.permissions.policy import Actor
from yiti.site import Site
from yiti.web.ui.exports import FORMULA_START
from yiti.web.ui.screens import SYSTEM_LABELS, system_label

ROW = re.compile(r"^rows\[(\d+)\]\.?(.*)$")
MAX_ROWS = 200_000


@dataclass
class Problem:
    row: int  # as the spreadsheet numbers it (header = 1)
    field: str
    message: str


@dataclass
class Result:
    imported: int = 0
    problems: list[Problem] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rejected: list[tuple[int, list[Any]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_table(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    """The header and the data rows of a ``.csv`` or ``.xlsx`` file."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        lines = book.worksheets[0].iter_rows(values_only=True)
        head = [str(c or "").strip() for c in next(lines, ())]
        return head, (list(r) for r in lines)
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError("the file is neither UTF-8 nor GB18030 text", field="file")
    reader = csv.reader(io.StringIO(text, newline=""))
    head = [c.strip() for c in next(reader, [])]
    return head, (list(r) for r in reader)


def match_columns(entity: Entity, head: list[str]) -> tuple[list[Field | None], list[Problem]]:
    """The field of each column, by name or by label in any language."""
    names: dict[str, Field] = {}
    for f in entity.fields.values():
        if f.is_table or f.formula:
            continue
        names[f.name.lower()] = f
        for text in f.label.values():
            names.setdefault(text.strip().lower(), f)
    # system columns (an export's "Name", "编号", "Created at"): shown on export only; a
    # field of the pack's that has such a label keeps it
    system = {"name", "id"} | {text.strip().lower() for name in SYSTEM_LABELS
                               for text in system_label(name).values()
                               if text.strip().lower() not in names}
    out: list[Field | None] = []
    problems = []
    for i, title in enumerate(head):
        key = title.strip().lower()
        if key in system or "›" in title or not key:
            out.append(None)  # a system column, a link path: shown on export only
            continue
        f = names.get(key)
        if f is None:
            from yiti.errors import did_you_mean

            hint = did_you_mean(title, [f.name for f in entity.fields.values()])
            problems.append(Problem(1, title, "is not a field of this list"
                                    + (f"; {hint}" if hint else "")))
        out.append(f)
        if f is not None and f.read_only and i >= 0:
            out[-1] = None
    return out, problems


def cell_value(f: Field, value: Any) -> Any:
    """A cell as the record service takes it."""
    if isinstance(value, str):
        if value.startswith("'") and value[1:2] and value[1] in FORMULA_START:
            value = value[1:]  # our export's formula guard
        if f.type not in ("string", "text"):
            value = value.strip()
        if value == "":
            return None
    if value is None:
        return None
    if f.type == "date" and isinstance(value, dt.datetime):
        return value.date()
    if f.type == "link" and isinstance(value, str) and not value.isdigit():
        return {"name": value}
    if f.type == "select" and isinstance(value, str):
        for option in f.options:
            if value == option.value or value in option.label.values():
                return option.value
    if f.type == "json" and isinstance(value, str):
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    if f.type in ("integer", "decimal", "money", "percent") and isinstance(value, float):
        return repr(value)
    return value


#: Files with more rows than this are imported in the background.
BACKGROUND_ROWS = 5_000


def count_rows(path: Path) -> int:
    """Data rows in the file (without the header), read cheaply."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            return max((book.worksheets[0].max_row or 1) - 1, 0)
        finally:
            book.close()
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def run_import(site: Site, actor: Actor, entity_name: str, path: Path, *,
               progress: Callable[[int], None] | None = None,
               saving: Callable[[], Any] | None = None) -> Result:
    """Import the file at ``path`` as ``actor``: every row is created, or none."""
    entity = site.model.entity(entity_name)
    head, lines = read_table(path)
    fields, problems = match_columns(entity, head)
    result = Result(header=head, problems=problems)
    if problems:
        return result
    raw_rows: list[list[Any]] = []
    values: list[dict[str, Any]] = []
    for line in lines:
        if not any(c not in (None, "") for c in line):
            continue
        if len(values) >= MAX_ROWS:
            result.problems.append(Problem(len(values) + 2, "", f"more than {MAX_ROWS} rows; "
                                           "split the file"))
            return result
        raw_rows.append(line)
        values.append({f.name: cell_value(f, v) for f, v in zip(fields, line, strict=False)
                       if f is not None and cell_value(f, v) is not None})
        if progress and len(values) % 1000 == 0:
            progress(len(values))
    records = site.records(actor)
    try:
        if saving is not None:  # the job's step: the rows commit with its progress
            with saving():
                ids = records.create_many(entity.name, values, action="import")
        else:
            ids = records.create_many(entity.name, values, action="import")
    except ValidationError as error:
        bad: dict[int, list[str]] = {}
        for p in error.problems:
            match = ROW.match(p.field)
            index = int(match.group(1)) if match else -1
            name = match.group(2) if match else p.field
            f = entity.fields.get(name.split("[")[0])
            shown = label_text(f.label, "en") if f else name
            result.problems.append(Problem(index + 2, f"{shown} ({name})" if f else name,
                                           p.message))
            if index >= 0:
                bad.setdefault(index, []).append(f"{name}: {p.message}")
        result.rejected = [(i + 2, [*raw_rows[i], "; ".join(msgs)])
                           for i, msgs in sorted(bad.items())]
        return result
    except YitiError as error:
        result.problems.append(Problem(0, "", error.message))
        return result
    result.imported = len(ids)
    return result


def rejected_file(result: Result) -> str:
    """The refused rows as CSV, with the spreadsheet row number and the reasons."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["row", *result.header, "errors"])
    from yiti.web.ui.exports import neutralise

    for number, line in result.rejected:
        writer.writerow([number, *[neutralise("" if v is None else str(v)) for v in line]])
    return out.getvalue()
