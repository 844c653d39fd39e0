"""Report parameters: defaults, and the values a user typed, parsed by type.

Date defaults may be a date (``2026-01-01``) or a token counted in the site's time zone:
``today``, ``week_start``, ``month_start``, ``quarter_start``, ``year_start``,
``last_month_start``, ``last_year_start``, or ``today-30`` / ``today+7`` (days).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from yiti.definitions.model import Field, Model, Option
from yiti.errors import FieldProblem, ValidationError
from yiti.reports.buckets import next_start, start_of
from yiti.reports.spec import Param, Report
from yiti.values import ValueProblem, parse

_OFFSET = re.compile(r"^today([+-]\d{1,4})$")
TOKENS = ("today", "week_start", "month_start", "quarter_start", "year_start",
          "last_month_start", "last_year_start")


def today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def date_token(value: str, tz: str, now: dt.date | None = None) -> dt.date | None:
    """The date a token means, or None when ``value`` is no token."""
    day = now or today(tz)
    match = _OFFSET.match(value)
    if match:
        return day + dt.timedelta(days=int(match.group(1)))
    units = {"week_start": "week", "month_start": "month", "quarter_start": "quarter",
             "year_start": "year"}
    if value == "today":
        return day
    if value in units:
        return start_of(day, units[value])
    if value == "last_month_start":
        return next_start(start_of(day, "month"), "month", -1)
    if value == "last_year_start":
        return next_start(start_of(day, "year"), "year", -1)
    return None


def param_field(param: Param, model: Model) -> Field:
    """A stand-in field that parses the parameter's values."""
    ptype = {"link": "integer", "select": "string"}.get(param.type, param.type)
    options = tuple(Option(o, {"en": o}) for o in param.options)
    return Field(param.name, ptype, param.label, options=options if ptype == "select" else (),
                 max_length=None)


def values(report: Report, raw: Mapping[str, Any], model: Model, tz: str,
           now: dt.date | None = None) -> dict[str, Any]:
    """Each parameter's value: from ``raw`` (strings from a form, or typed values), else
    its default; None when neither. A parameter sent empty (``p.status=``: the form's
    "Any") is None, so its filter filters nothing, unless it is required: then it takes
    its default. Problems are reported together, naming ``p.<name>``."""
    out: dict[str, Any] = {}
    problems = []
    for p in report.params:
        given = raw.get(p.name)
        if given is None or (given == "" and p.required):
            given = p.default
        if isinstance(given, str) and p.type in ("date", "datetime"):
            token = date_token(given.strip(), tz, now)
            if token is not None:
                given = token if p.type == "date" else dt.datetime.combine(
                    token, dt.time(), ZoneInfo(tz))
        if given is None or given == "":
            if p.required:
                problems.append(FieldProblem(f"p.{p.name}", "is required", "required"))
            out[p.name] = None
            continue
        try:  # a datetime typed without an offset is read in the site's time zone
            out[p.name] = parse(param_field(p, model), given, timezone=tz)
        except ValueProblem as problem:
            problems.append(FieldProblem(f"p.{p.name}", problem.message, problem.code))
        if p.type == "select" and p.options and out.get(p.name) not in (None, *p.options):
            problems.append(FieldProblem(f"p.{p.name}", "is not one of the options", "option"))
    if problems:
        raise ValidationError(problems)
    return out


def as_text(value: Any) -> str:
    """A parameter value as it goes back into a form or a URL."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
