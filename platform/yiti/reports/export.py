"""A report result as a table of cells, and as CSV or XLSX bytes.

Cells keep their types for XLSX (numbers stay numbers, dates dates); text that a
spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) gets a leading single quote. Negative *numbers* stay numbers. A date
and time is given in the site's time zone, as the report's page and the list exports
give it (a spreadsheet cell holds no zone).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from yiti.definitions.model import label_text
from yiti.reports.buckets import as_date, label
from yiti.reports.compile import OutColumn
from yiti.reports.run import Result, Row
from yiti.times import local_time

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def option_label(column: OutColumn, value: Any, lang: str) -> Any:
    """A select's option label, a bucket's period ("2026 Q1"), else the value."""
    if value is None:
        return None
    if column.bucket:
        return label(as_date(value), column.bucket)
    f = column.field
    if f is not None and f.type == "select":
        for option in f.options:
            if option.value == value:
                return label_text(option.label, lang)
    return value


def table(result: Result, lang: str = "en",
          total_text: Callable[[Row], str] | None = None) -> tuple[list[str], list[list[Any]]]:
    """(header, rows of cells): the report as a spreadsheet shows it."""
    header = [str(label_text(result.header(c), lang)) for c in result.columns]
    out = []
    for row in result.rows:
        cells = [_local(option_label(c, row.values.get(c.key), lang), result.tz)
                 for c in result.columns]
        if row.kind != "detail" and result.groups:
            first_rolled = len(result.groups) - row.level
            text = total_text(row) if total_text else ("Total" if row.kind == "total"
                                                       else "Subtotal")
            cells[first_rolled] = text
        out.append(cells)
    return header, out


def _local(value: Any, tz: str) -> Any:
    """A datetime as the wall-clock time of the site's zone ``tz`` (stored in UTC)."""
    if isinstance(value, dt.datetime):
        return local_time(value, tz).replace(tzinfo=None)
    return value


def to_csv(result: Result, lang: str = "en") -> bytes:
    header, rows = table(result, lang)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # so Excel reads UTF-8 (Chinese) correctly
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in header])
    for cells in rows:
        writer.writerow(["" if v is None else neutralise(v) if isinstance(v, str) else _text(v)
                         for v in cells])
    return buffer.getvalue().encode("utf-8")


def _text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")  # as the list exports write one
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_xlsx(result: Result, lang: str = "en") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    header, rows = table(result, lang)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(result.report.name[:31])
    sheet.append([neutralise(h) for h in header])
    for cells in rows:
        line = []
        for v in cells:
            if isinstance(v, Decimal):
                v = float(v) if abs(v) < Decimal(10) ** 15 else str(v)
            if isinstance(v, str):
                v = neutralise(ILLEGAL_CHARACTERS_RE.sub("", v))
            line.append(v)
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
