"""Values as people read them (lists, detail) and as form inputs hold them.

Every function returns plain text; templates escape it. Nothing here marks a value safe.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel import numbers
from babel.dates import format_date

from yiti.definitions.model import Field, label_text
from yiti.times import local_time, moment
from yiti.values import DECIMAL_DEFAULTS

# The one format of a point in time lives below the web layer (notifications and reports
# use it too); the screens know it as present.moment and present.local_time.
__all__ = ["currency_of", "display", "input_value", "local_time", "moment", "safe_href",
           "step"]


def currency_of(field: Field, record: Mapping[str, Any] | None, default: str) -> str:
    if field.currency_field and record and record.get(field.currency_field):
        return str(record[field.currency_field])
    return field.currency or default


def display(field: Field, value: Any, *, lang: str, tz: str, currency: str = "CNY",
            titles: Mapping[Any, str] | None = None) -> str:
    """``value`` of ``field`` formatted for reading in ``lang``."""
    if value is None or value == "":
        return ""
    loc = lang.replace("-", "_")
    kind = field.type
    if kind == "boolean":
        from yiti.web.ui.i18n import gettext

        return gettext("Yes") if value else gettext("No")
    if kind == "select":
        for option in field.options:
            if option.value == value:
                return label_text(option.label, lang)
        return str(value)
    if kind in ("link", "attachment"):
        if titles and value in titles:
            return titles[value]
        return f"#{value}"
    if kind == "money":
        try:
            return numbers.format_currency(Decimal(value), currency, locale=loc)
        except (ValueError, ArithmeticError):
            return str(value)
    if kind == "percent":
        return f"{numbers.format_decimal(Decimal(value), locale=loc)} %"
    if kind in ("decimal", "integer"):
        return numbers.format_decimal(value, locale=loc)
    if kind == "date" and isinstance(value, dt.date):
        return format_date(value, "medium", locale=loc)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return moment(value, lang=lang, tz=tz)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def input_value(field: Field, value: Any, *, tz: str) -> str:
    """``value`` as the ``value=`` of the field's input (or a textarea's text)."""
    if value is None:
        return ""
    if field.type == "datetime" and isinstance(value, dt.datetime):
        return local_time(value, tz).strftime("%Y-%m-%dT%H:%M")
    if field.type == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if field.type == "json":
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if field.type == "boolean":
        return "1" if value else ""
    return str(value)


def step(field: Field) -> str:
    """The ``step=`` of a number input: 1 for integers, 10^-scale for decimals."""
    if field.type == "integer":
        return "1"
    scale = field.scale if field.scale is not None else DECIMAL_DEFAULTS[field.type][1]
    return "any" if scale > 8 else str(Decimal(1).scaleb(-scale))


def safe_href(value: Any) -> str | None:
    """A URL fit for ``href``: only http(s); anything else (``javascript:``) is shown as text."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None
