"""Export the current list (its filters, search and sort) to CSV or XLSX.

Rows are read page by page through the record service with ``action="export"``, so the
policy decides who may export and which fields they see. A text cell that a spreadsheet
would take for a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return) is prefixed with a single quote; imports take the quote off again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, request, stream_with_context

from yiti.definitions.model import Entity, Field
from yiti.records.service import Records
from yiti.web.ui import listing, present
from yiti.web.ui.blueprint import bp
from yiti.web.ui.context import entity_or_404, link_titles, records, site
from yiti.web.ui.i18n import current_language
from yiti.web.ui.lists import UNSORTABLE, fetch_fields
from yiti.web.ui.screens import Column, list_spec, readable_spec, screen_field

#: Characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 100_000
PAGE = 500


def neutralise(value: Any) -> Any:
    """A cell value safe to open in a spreadsheet: text that looks like a formula gets a
    leading single quote; numbers, dates and booleans are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def cell(field: Field, value: Any, row: dict[str, Any], path: str, tz: str) -> Any:
    """The exported value: links as the linked record's name, selects as their value,
    datetimes in the site's time zone, JSON as text."""
    if value is None:
        return None
    if field.is_link:
        return row.get(f"{path}.name") or value
    if isinstance(value, dt.datetime):
        return present.local_time(value, tz).replace(tzinfo=None)
    if field.type == "json":
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def rows(recs: Records, entity: Entity, args: dict[str, str]
         ) -> tuple[list[Column], Iterator[list[Any]]]:
    """The export's columns, and its rows as lists of cells (neutralised)."""
    spec = readable_spec(list_spec(site().model, entity), site().model, entity, recs)
    sortable = {c.path for c in spec.columns if c.field.type not in UNSORTABLE}
    req = listing.read(args, listing.filterable(spec), sortable, spec.sort,
                       site().settings.timezone)
    fields, _ = fetch_fields(entity, spec, recs)
    columns = list(spec.columns)
    name = screen_field(entity, "name")
    if name is not None and not any(c.path == "name" for c in columns):
        columns.insert(0, Column("name", name, name.label))
    tz = site().settings.timezone
    # Fail before the response starts (a refused export is an error page, not a file).
    first = recs.list(entity.name, filters=req.filters, search=req.search or None,
                      sort=req.sort, limit=PAGE, fields=fields, action="export")

    lines = [c for c in columns if c.field.is_link
             and site().model.entities[c.field.target or ""].child]

    def generate() -> Iterator[list[Any]]:
        page, sent = first, 0
        while True:
            for c in lines:  # a link to a line: exported as its title, as screens show it
                known = link_titles(recs, site().model.entities[c.field.target or ""],
                                    [row.get(c.path) for row in page.rows])
                for row in page.rows:
                    row[f"{c.path}.name"] = known.get(row.get(c.path))
            for row in page.rows:
                yield [neutralise(cell(c.field, row.get(c.path), row, c.path, tz))
                       for c in columns]
                sent += 1
                if sent >= MAX_ROWS:
                    return
            if not page.next:
                return
            page = recs.list(entity.name, filters=req.filters, search=req.search or None,
                             sort=req.sort, limit=PAGE, fields=fields, action="export",
                             after_cursor=page.next)

    return columns, generate()


def header(entity: Entity, columns: list[Column]) -> list[str]:
    from yiti.definitions.model import label_text

    lang = current_language()
    return [neutralise(label_text(c.label, lang)) for c in columns]


def _filename(entity: Entity, ext: str) -> str:
    stamp = dt.datetime.now(ZoneInfo(site().settings.timezone)).strftime("%Y%m%d-%H%M")
    return f"{entity.name}-{stamp}.{ext}"


@bp.get("/<entity>/export.csv")
def export_csv(entity: str) -> Response:
    e = entity_or_404(entity)
    columns, data = rows(records(), e, request.args.to_dict())
    head = header(e, columns)

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so Excel reads UTF-8 (Chinese) correctly
        writer.writerow(head)
        for n, line in enumerate(data):
            writer.writerow(["" if v is None else _text(v) for v in line])
            if n % 200 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename(e, "csv")}"'})


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@bp.get("/<entity>/export.xlsx")
def export_xlsx(entity: str) -> Response:
    from openpyxl import Workbook

    e = entity_or_404(entity)
    columns, data = rows(records(), e, request.args.to_dict())
    book = Workbook(write_only=True)
    sheet = book.create_sheet(e.name[:31])
    sheet.append(header(e, columns))
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    for line in data:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v
                      for v in line])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), headers={
        "Content-Disposition": f'attachment; filename="{_filename(e, "xlsx")}"'},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
