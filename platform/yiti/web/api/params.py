"""The list parameters of ``GET /api/v1/<entity>``, shared with the UI's lists.

- ``filter=field:op:value`` (repeatable). ``op`` is one of :data:`OPS` (``eq``, ``ne``,
  ``lt``, ``le``, ``gt``, ``ge``, ``in``, ``nin``, ``like``, ``nlike``, ``between``,
  ``null``, ``notnull``); ``in``/``nin``/``between`` take comma-separated values;
  ``filter=field:value`` means ``eq``. The field may be a link path (``customer.city``)
  or a child field (``lines.item``).
- ``filters=<json>``: a list of ``[field, op, value]`` with the record service's operators
  (``=``, ``!=``, ``<``, ``in``, ``is null``...), for values holding commas.
- ``sort=-created_at,name``; ``limit`` (1..500); ``after`` (the previous page's ``next``
  cursor) or ``offset``; ``q`` (search); ``fields=a,b,customer.city``; ``count=true``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yiti.errors import FieldProblem, ValidationError, did_you_mean
from yiti.web.api.inputs import MAX_ID, text_problem

OPS = {
    "eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in",
    "nin": "not in", "like": "like", "nlike": "not like", "between": "between",
    "null": "is null", "notnull": "is not null",
}
LIST_OPS = ("in", "nin", "between")
VALUELESS = ("null", "notnull")


@dataclass
class ListQuery:
    filters: list[tuple[str, str, Any]] = field(default_factory=list)
    sort: list[str] | None = None
    limit: int | None = None
    offset: int | None = None
    after: str | None = None
    search: str | None = None
    fields: list[str] | None = None
    count: bool = False


def parse_list_args(args: Any) -> ListQuery:
    """A :class:`ListQuery` from request arguments; every problem names its parameter."""
    problems: list[FieldProblem] = []
    query = ListQuery()
    for i, text in enumerate(args.getlist("filter")):
        parts = text.split(":", 2)
        if len(parts) == 2 and parts[1] in VALUELESS:
            parts = [parts[0], parts[1], ""]
        elif len(parts) == 2:
            parts = [parts[0], "eq", parts[1]]
        if len(parts) != 3 or not parts[0]:
            problems.append(FieldProblem(f"filter[{i}]", "must be field:op:value",
                                         "invalid"))
            continue
        path, op, value = parts
        if op not in OPS:
            hint = did_you_mean(op, OPS)
            problems.append(FieldProblem(f"filter[{i}]", f"unknown operator {op!r}"
                                         + (f"; {hint}" if hint else ""), "unknown_operator"))
            continue
        parsed: Any = value
        if op in LIST_OPS:
            parsed = value.split(",") if value else []
        elif op in VALUELESS:
            parsed = None
        query.filters.append((path, OPS[op], parsed))
    raw = args.get("filters")
    if raw:
        try:
            extra = json.loads(raw)
        except (ValueError, RecursionError):
            extra = None
        bad = text_problem(extra, "filters")
        if bad is not None:
            problems.append(bad)
        elif not isinstance(extra, (list, Mapping)):
            problems.append(FieldProblem("filters", "must be a JSON list of "
                                         "[field, op, value]", "invalid"))
        elif isinstance(extra, Mapping):
            query.filters += [(str(k), "=", v) for k, v in extra.items()]
        else:
            for i, item in enumerate(extra):
                if (isinstance(item, list) and len(item) in (2, 3)
                        and all(isinstance(x, str) for x in item[:-1])):
                    query.filters.append(tuple(item) if len(item) == 3
                                         else (item[0], "=", item[1]))
                else:
                    problems.append(FieldProblem(f"filters[{i}]",
                                                 "must be [field, op, value]", "invalid"))
    if args.get("sort"):
        query.sort = [s.strip() for s in args["sort"].split(",") if s.strip()]
    for name in ("limit", "offset"):
        if args.get(name) is not None:
            try:
                number = int(args[name])
            except ValueError:
                problems.append(FieldProblem(name, "must be a whole number", "type"))
                continue
            if abs(number) > MAX_ID:  # no database takes it; the service checks the rest
                problems.append(FieldProblem(name, f"must be at most {MAX_ID}", "range"))
                continue
            setattr(query, name, number)
    query.after = args.get("after") or None
    query.search = args.get("q") or None
    if args.get("fields"):
        query.fields = [f.strip() for f in args["fields"].split(",") if f.strip()]
    count = (args.get("count") or "").lower()
    if count not in ("", "true", "false", "1", "0"):
        problems.append(FieldProblem("count", "must be true or false", "type"))
    query.count = count in ("true", "1")
    if problems:
        raise ValidationError(problems)
    return query
