"""List queries: filters, sort, search and keyset pagination as SQLAlchemy Core.

A filter is ``(path, op, value)``; ``path`` is a field, a system column, or a walk along
link fields (``customer.city``), or into child lines (``lines.sku``: records having a line
that matches). Values are parsed with the field's own parser, so ``"12.50"`` compares as
a Decimal and ``"2026-11-11"`` as a date.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Numeric,
    Select,
    String,
    Table,
    all_,
    and_,
    any_,
    bindparam,
    exists,
    false,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import KeyedColumnElement

from yiti.definitions.model import Entity, Field, Model, Option
from yiti.errors import FieldProblem, ValidationError, did_you_mean
from yiti.values import ValueProblem, parse

OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "in", "not in", "like", "not like",
             "between", "is null", "is not null")

#: Field types that search matches with LIKE.
TEXT_TYPES = ("string", "text", "email", "phone", "url", "select")

#: System columns as pseudo-fields, so they filter and sort like any field.
SYSTEM_FIELDS: dict[str, Field] = {
    "id": Field("id", "integer", {"en": "ID"}),
    "name": Field("name", "string", {"en": "Name"}, max_length=140),
    "version": Field("version", "integer", {"en": "Version"}),
    "created_at": Field("created_at", "datetime", {"en": "Created at"}),
    "modified_at": Field("modified_at", "datetime", {"en": "Modified at"}),
    "created_by": Field("created_by", "string", {"en": "Created by"}, max_length=140),
    "modified_by": Field("modified_by", "string", {"en": "Modified by"}, max_length=140),
    "parent_id": Field("parent_id", "integer", {"en": "Parent"}),
    "idx": Field("idx", "integer", {"en": "Line"}),
}
DOCSTATUS_FIELD = Field("docstatus", "select", {"en": "Status"}, options=tuple(
    Option(v, {"en": v.title()}) for v in ("draft", "submitted", "cancelled")
))


def field_of(entity: Entity, name: str) -> Field | None:
    if name in entity.fields:
        return entity.fields[name]
    if name == "docstatus" and entity.submittable:
        return DOCSTATUS_FIELD
    if name in ("parent_id", "idx") and not entity.child:
        return None
    if name == "name" and entity.child:
        return None
    return SYSTEM_FIELDS.get(name)


def searched_columns(model: Model, entity: Entity) -> list[tuple[str, Entity, Field]]:
    """Where a search looks: (path, the entity owning the column, its field) for each of
    the entity's search fields (its title and name when it declares none); a link is
    searched by the linked record's name and title. The schema layer gives each of these
    columns a trigram index on PostgreSQL, so the two can't drift apart."""
    names = list(entity.search_fields) or ([entity.title_field] if entity.title_field else [])
    if not entity.child:
        names.append("name")
    found = []
    for name in dict.fromkeys(names):
        f = field_of(entity, name)
        if f is not None and f.type == "link":
            target = model.entities[f.target or ""]
            for sub in dict.fromkeys(("name", target.title_field)):
                sub_field = field_of(target, sub) if sub else None
                if sub_field is not None and sub_field.type in TEXT_TYPES:
                    found.append((f"{name}.{sub}", target, sub_field))
        elif f is not None and f.type in TEXT_TYPES:
            found.append((name, entity, f))
    return found


@dataclass
class Compiler:
    """Builds the FROM clause (with link joins) and conditions for one list query."""

    model: Model
    entity: Entity
    tables: dict[str, Table]
    #: Decides whether the caller may filter or sort on a field (field-level permissions).
    may_read: Callable[[Entity, str], bool] = lambda entity, name: True
    joins: dict[str, FromClause] = field(default_factory=dict)
    source: FromClause | None = None
    #: An extra condition for each link join's ON clause (reports put the linked entity's
    #: row rule there, so a linked record the caller may not see reads as empty).
    join_filter: Callable[[Entity, FromClause], ColumnElement[bool] | None] | None = None
    #: When a list, each filter's values go into bind parameters and its :class:`Binder`
    #: is appended here, so the statement can be run again with other values of the same
    #: shape (:meth:`yiti.records.service.Records.list` keeps it); else values are inlined.
    binders: list[Binder] | None = None
    #: With ``binders``: an ``in`` list goes as one array parameter (``= ANY(...)``,
    #: PostgreSQL) rather than one parameter per value, so the statement's text is the
    #: same for every length of list and can be sent as it is (``yiti.db.run_kept``).
    arrays: bool = False

    def __post_init__(self) -> None:
        self.base = self.tables[self.entity.table_name]
        self.source = self.base

    def resolve(self, path: str, param: str) -> tuple[Entity, Field, Any]:
        """The entity, field and column at the end of ``path``, joining links on the way."""
        parts = path.split(".")
        entity, current, walked = self.entity, self.base, []
        for i, part in enumerate(parts):
            f = field_of(entity, part)
            if f is None and part == "parent" and entity.child and i < len(parts) - 1:
                f = Field("parent_id", "link", {"en": "Parent"}, target=entity.parent)
            if f is None or not self.may_read(entity, part):
                choices = [n for n in [*entity.fields, *SYSTEM_FIELDS]
                           if field_of(entity, n) and self.may_read(entity, n)]
                hint = did_you_mean(part, choices)
                raise ValidationError([FieldProblem(
                    param, f"unknown field {'.'.join(parts[:i + 1])!r}"
                    + (f"; {hint}" if hint else ""), "unknown_field")])
            walked.append(part)
            if i == len(parts) - 1:
                return entity, f, current.c[f.name]
            if f.type != "link":
                raise ValidationError([FieldProblem(
                    param, f"{'.'.join(walked)!r} is not a link, so it has no fields",
                    "not_a_link")])
            target = self.model.entities[f.target or ""]
            key = ".".join(walked)
            if key not in self.joins:
                alias = self.tables[target.table_name].alias(f"j_{len(self.joins)}")
                self.joins[key] = alias
                on = alias.c.id == current.c[f.name]
                extra = self.join_filter(target, alias) if self.join_filter else None
                self.source = self.source.outerjoin(alias, on if extra is None
                                                    else and_(on, extra))
            entity, current = target, self.joins[key]
        raise AssertionError("unreachable")

    def condition(self, path: str, op: str, value: Any, param: str = "filters"
                  ) -> ColumnElement[bool]:
        op = op.lower().strip()
        if op not in OPERATORS:
            hint = did_you_mean(op, OPERATORS)
            raise ValidationError([FieldProblem(
                param, f"unknown operator {op!r}" + (f"; {hint}" if hint else ""),
                "unknown_operator")])
        head, _, rest = path.partition(".")
        table_field = self.entity.fields.get(head)
        if table_field is not None and table_field.is_table and rest:
            child = self.model.entities[table_field.target or ""]
            inner = Compiler(self.model, child, self.tables, self.may_read,
                             binders=self.binders, arrays=self.arrays)
            cond = inner.condition(rest, op, value, param)
            child_table = self.tables[child.table_name]
            return exists(select(child_table.c.id).select_from(inner.source).where(
                child_table.c.parent_id == self.base.c.id, cond))
        _, f, col = self.resolve(path, param)
        binder = Binder(f, op, path, param, f"_f{len(self.binders or ())}",
                        like_text=op.endswith("like") and col.type.python_type is str,
                        array=self.arrays)
        parsed = binder.parse(value)
        if self.binders is not None:
            self.binders.append(binder)
        return binder.expression(col, parsed, bound=self.binders is not None)

    def where(self, filters: Iterable[Any]) -> list[ColumnElement[bool]]:
        conditions = []
        for i, item in enumerate(normalise_filters(filters)):
            path, op, value = item
            conditions.append(self.condition(path, op, value, f"filters[{i}]"))
        return conditions

    def search(self, text: str) -> ColumnElement[bool]:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds = []
        for path, owner, f in searched_columns(self.model, self.entity):
            if not self.may_read(self.entity, path.split(".")[0]):
                continue
            if "." in path and not self.may_read(owner, f.name):
                continue
            _, _, col = self.resolve(path, "q")
            conds.append(col.ilike(pattern, escape="\\"))
        return or_(*conds) if conds else false()

    def order(self, sort: Sequence[str]) -> list[tuple[Any, bool]]:
        """(column, descending) for each sort key, id last so the order is total."""
        keys: list[tuple[Any, bool]] = []
        for i, key in enumerate(sort):
            desc = key.startswith("-")
            path = key.lstrip("-+")
            _, f, col = self.resolve(path, f"sort[{i}]")
            if f.type in ("json", "text", "table"):
                raise ValidationError([FieldProblem(f"sort[{i}]",
                                                    f"cannot sort by {path} ({f.type})")])
            if path == "id":
                keys.append((col, desc))
                return keys
            keys.append((col, desc))
        keys.append((self.base.c.id, keys[-1][1] if keys else False))
        return keys


def in_list(col: Any, name: str, *, arrays: bool, negate: bool = False
            ) -> ColumnElement[bool]:
    """``col IN`` the list bound to parameter ``name`` (``NOT IN`` with ``negate``): one
    array parameter with ``arrays`` (PostgreSQL: the statement's text is the same for any
    length of list, see :attr:`Compiler.arrays`), else one parameter per value."""
    if arrays:
        values = bindparam(name, type_=array_of(col.type))
        return col != all_(values) if negate else col == any_(values)
    values = bindparam(name, expanding=True)
    return col.not_in(values) if negate else col.in_(values)


def array_of(sql_type: Any) -> postgresql.ARRAY:
    """A PostgreSQL array of ``sql_type``'s values for one bind parameter, without the
    column's length or precision: cast to ``VARCHAR(64)[]`` a longer value would be cut
    to a prefix (and could match it), cast to ``NUMERIC(12, 2)[]`` a finer one rounded."""
    impl = getattr(sql_type, "impl", sql_type)  # a TypeDecorator's own type
    if isinstance(impl, String):
        return postgresql.ARRAY(String())
    if isinstance(impl, Numeric):
        return postgresql.ARRAY(Numeric(asdecimal=True))
    return postgresql.ARRAY(sql_type)


@dataclass(frozen=True)
class Binder:
    """One filter's operator on one field: parses and checks a value for it, and builds
    its condition with the value inlined or as bind parameters (named after ``name``)."""

    field: Field
    op: str
    path: str
    param: str
    name: str
    #: For ``like``: whether the column holds text (matched without regard to case).
    like_text: bool = False
    #: For ``in`` bound: the list as one array parameter (see :attr:`Compiler.arrays`).
    array: bool = False

    def parse(self, value: Any) -> Any:
        """The value as the condition compares it (a list for ``in``, a pair for
        ``between``, None for ``is null``); a ValidationError naming the filter if bad."""
        op, path, param = self.op, self.path, self.param
        if op in ("is null", "is not null"):
            return None
        if op in ("like", "not like"):
            if not isinstance(value, str):
                raise ValidationError([FieldProblem(param, f"{path}: like needs text",
                                                    "type")])
            return value
        if op in ("in", "not in"):
            if not isinstance(value, (list, tuple)):
                raise ValidationError([FieldProblem(param, f"{path}: {op} needs a list",
                                                    "type")])
            if len(value) > 1000:
                raise ValidationError([FieldProblem(param, f"{path}: at most 1000 values",
                                                    "too_many")])
            return [self._value(v) for v in value]
        if op == "between":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValidationError([FieldProblem(
                    param, f"{path}: between needs two values", "type")])
            return tuple(self._value(v) for v in value)
        return self._value(value)

    def shape(self, parsed: Any) -> bool:
        """Whether ``parsed`` gives the condition its usual shape (with parameters):
        ``= None`` is ``IS NULL`` and ``in []`` is false, which have none."""
        if self.op in ("in", "not in"):
            return bool(parsed)
        return parsed is not None or self.op not in ("=", "!=")

    def params(self, parsed: Any) -> dict[str, Any]:
        """The bind parameters of ``parsed`` for the condition built ``bound``."""
        if self.op in ("is null", "is not null") or not self.shape(parsed):
            return {}
        if self.op == "between":
            return {f"{self.name}_low": parsed[0], f"{self.name}_high": parsed[1]}
        return {self.name: parsed}

    def expression(self, col: Any, parsed: Any, *, bound: bool) -> ColumnElement[bool]:
        """The condition on ``col``: ``parsed`` inlined, or bind parameters (``bound``)."""
        op = self.op
        if op == "is null":
            return col.is_(None)
        if op == "is not null":
            return col.is_not(None)
        if not self.shape(parsed):
            if op in ("in", "not in"):
                return false() if op == "in" else true()
            return col.is_(None) if op == "=" else col.is_not(None)
        if op == "between":
            low, high = ((bindparam(f"{self.name}_low"), bindparam(f"{self.name}_high"))
                         if bound else parsed)
            return col.between(low, high)
        if op in ("in", "not in"):
            if bound:
                return in_list(col, self.name, arrays=self.array, negate=op == "not in")
            return col.in_(parsed) if op == "in" else col.not_in(parsed)
        value = bindparam(self.name) if bound else parsed
        if op in ("like", "not like"):
            cond = col.ilike(value) if self.like_text else col.like(value)
            return not_(cond) if op == "not like" else cond
        return {
            "=": col.__eq__, "!=": col.__ne__, "<": col.__lt__, "<=": col.__le__,
            ">": col.__gt__, ">=": col.__ge__,
        }[op](value)

    def _value(self, value: Any) -> Any:
        # a select compares with its options only: a value that is none (a typo) would
        # find nothing and look like an empty answer; records holding an option since
        # removed are still found with ``like``, which takes any text
        try:
            return parse(self.field, value)
        except ValueProblem as problem:
            raise ValidationError([FieldProblem(self.param, f"{self.path} {problem.message}",
                                                problem.code)]) from None


def normalise_filters(filters: Any) -> list[tuple[str, str, Any]]:
    """Accept ``[(path, op, value)]``, ``[[...]]``, ``[{"field","op","value"}]`` or ``{path: value}``."""
    if not filters:
        return []
    if isinstance(filters, dict):
        return [(k, "=", v) for k, v in filters.items()]
    out = []
    for i, item in enumerate(filters):
        if isinstance(item, dict):
            try:
                out.append((str(item["field"]), str(item.get("op", "=")), item.get("value")))
            except KeyError:
                raise ValidationError([FieldProblem(f"filters[{i}]", "needs a 'field'")]
                                      ) from None
        elif isinstance(item, (list, tuple)) and len(item) in (2, 3):
            if len(item) == 2:
                out.append((str(item[0]), "=", item[1]))
            else:
                out.append((str(item[0]), str(item[1]), item[2]))
        else:
            raise ValidationError([FieldProblem(f"filters[{i}]",
                                                "must be [field, operator, value]")])
    return out


def ordered(query: Select, keys: list[tuple[Any, bool]]) -> Select:
    # No NULLS FIRST/LAST: each database's own null order is the one its indexes serve
    # (PostgreSQL sorts nulls as largest, SQLite as smallest); :func:`after` follows it.
    return query.order_by(*[col.desc() if desc else col.asc() for col, desc in keys])


def nulls_are_largest(dialect_name: str) -> bool:
    return dialect_name == "postgresql"


def after(keys: list[tuple[KeyedColumnElement[Any], bool]], values: list[Any], *,
          nulls_largest: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order :func:`ordered` gives ``keys``.

    Written as ``col <= v AND (col < v OR <tie>)`` so the database can bound an index
    scan by the first key instead of filtering from the start.
    """
    cond: ColumnElement[bool] = false()
    for (col, desc), value in reversed(list(zip(keys, values, strict=True))):
        tie = cond
        nulls_after = (not desc) == nulls_largest
        if value is None:
            cond = (and_(col.is_(None), tie) if nulls_after
                    else or_(col.is_not(None), and_(col.is_(None), tie)))
            continue
        beyond = col < value if desc else col > value
        reach = col <= value if desc else col >= value
        core = and_(reach, or_(beyond, tie))
        nullable = getattr(col, "nullable", True)
        cond = or_(core, col.is_(None)) if nulls_after and nullable else core
    return cond


def after_segments(keys: list[tuple[KeyedColumnElement[Any], bool]], values: list[Any], *,
                   nulls_largest: bool) -> list[ColumnElement[bool]]:
    """The rows after ``values`` as conditions to query one after the other.

    When the leading key is nullable and its nulls come after the cursor's value, "the
    rest of the non-null values, then every null" is two index-friendly queries instead of
    one ``... OR col IS NULL`` that no index serves.
    """
    (col, desc), value = keys[0], values[0]
    nulls_after = (not desc) == nulls_largest
    if value is None or not (nulls_after and getattr(col, "nullable", True)):
        return [after(keys, values, nulls_largest=nulls_largest)]
    rest = after(keys[1:], values[1:], nulls_largest=nulls_largest) if len(keys) > 1 else false()
    beyond = col < value if desc else col > value
    reach = col <= value if desc else col >= value
    return [and_(reach, or_(beyond, rest)), col.is_(None)]


def encode_cursor(values: list[Any]) -> str:
    data = json.dumps([_jsonable(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: list[tuple[Any, bool]]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError
        return [_fits(_from_json(v, col), col) for v, (col, _) in zip(raw, keys, strict=True)]
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        raise ValidationError([FieldProblem("after", "is not a cursor from this list",
                                            "cursor")]) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if isinstance(value, dt.date):
        return {"D": value.isoformat()}
    return value


def _fits(value: Any, col: Any) -> Any:
    """``value`` if its sort column can be compared with it in every database, else
    ValueError: a tampered cursor is refused at ``after``, never sent to fail there (a
    NUL or lone surrogate in text, a number beyond 64 bits or the column's digits)."""
    if value is None:
        return None
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError
        value.encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError
    try:
        expected = col.type.python_type
    except (AttributeError, NotImplementedError):
        # SQLAlchemy's TypeEngine.python_type raises NotImplementedError for a type that
        # names no Python type (JSON, custom types): only the checks below apply to those
        expected = None
    if expected is float:
        expected = (int, float)
    if expected is not None and not isinstance(value, expected):
        raise ValueError
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError
    if isinstance(value, Decimal):
        precision, scale = getattr(col.type, "precision", None), getattr(col.type, "scale", 0)
        if not value.is_finite() or (precision and abs(value) >= Decimal(10) ** (
                precision - (scale or 0))):
            raise ValueError
    return value


def _from_json(value: Any, col: Any) -> Any:
    if isinstance(value, dict):
        if "d" in value:
            return Decimal(value["d"])
        if "t" in value:
            return dt.datetime.fromisoformat(value["t"])
        if "D" in value:
            return dt.date.fromisoformat(value["D"])
        raise ValueError
    if isinstance(value, (list, dict)):
        raise ValueError
    return value
