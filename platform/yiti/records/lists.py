"""Lists of records: the select a list runs, its pages, and its shapes kept for reuse.

Building and keying a select costs more CPU than running it on a warm connection, so
a list of the common kind (no search, cursor, offset or row rule) is built once for its
shape of filters (fields and operators, not values), sort and fields, kept with the
entity's table, and run again with each call's values (:func:`kept_shape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, select, true

from yiti.definitions.model import Entity
from yiti.errors import FieldProblem, ValidationError
from yiti.records.query import Binder, Compiler, encode_cursor, normalise_filters, ordered

if TYPE_CHECKING:
    from yiti.records.service import Record, Records

#: How many list shapes each table keeps (see :func:`kept_shape`).
MAX_KEPT_SHAPES = 256


@dataclass
class Page:
    """One page of a list: ``rows``, and ``next`` (a cursor) when there are more."""

    rows: list[Record]
    next: str | None
    has_more: bool


@dataclass
class Count:
    value: int
    exact: bool  # False: "more than value" (the count stopped at its cap)


@dataclass(frozen=True)
class ListShape:
    """A list statement built once, with bind parameters for the filters' values."""

    statement: Any
    key_labels: list[str]
    binders: list[Binder]
    #: Each binder's :meth:`~yiti.records.query.Binder.shape` when it was built.
    shapes: tuple[bool, ...]
    #: The entities whose fields it reads or filters on, and what the caller it was built
    #: for might read of each.
    entities: tuple[Entity, ...]
    readable: tuple[frozenset[str] | None, ...]


def page_of(rows: list[dict[str, Any]], limit: int, key_labels: list[str]) -> Page:
    """The page of ``rows`` (read with one more than ``limit``, to know there are more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    if any(n.startswith("_k") for n in key_labels):
        out = [{k: v for k, v in row.items() if not k.startswith("_k")} for row in rows]
    else:
        out = rows
    cursor = encode_cursor([rows[-1][n] for n in key_labels]) if more and rows else None
    return Page(out, cursor, more)


def compiler_for(records: Records, entity: Entity) -> Compiler:
    """A compiler of filters, sorts and fields on ``entity`` as the actor may read them."""
    def may_read(e: Entity, name: str) -> bool:
        readable = records.policy.readable(records.actor, e)
        return readable is None or name in readable or name in ("id", "name")

    return Compiler(records.model, entity, records.tables, may_read)


def conditions(records: Records, compiler: Compiler, entity: Entity, filters: Any,
               search: str | None) -> list[Any]:
    """The WHERE conditions of a list: its filters, the actor's row rule, the search."""
    found = compiler.where(filters)
    row_rule = records.policy.row_filter(records.actor, entity, compiler.base)
    if row_rule is not None:
        found.append(row_rule)
    if search:
        found.append(compiler.search(search[:200]))
    return found


def list_query(records: Records, compiler: Compiler, entity: Entity, sort: list[str],
               fields: Sequence[str] | None) -> tuple[Any, list[Any], list[str]]:
    """The select of a list without its conditions, its sort keys, and the name of
    each key's column in the rows."""
    keys = compiler.order(sort)
    columns = _columns(records, compiler, entity, fields)
    # The cursor is read from each sort key's column: the row's own where selected,
    # else an extra labelled column, dropped from the rows returned.
    selected = {id(c): c.key for c in columns}
    key_labels, extra = [], []
    for i, (col, _) in enumerate(keys):
        if id(col) in selected:
            key_labels.append(selected[id(col)])
        else:
            key_labels.append(f"_k{i}")
            extra.append(col.label(f"_k{i}"))
    return select(*columns, *extra).select_from(compiler.source), keys, key_labels


def kept_shape(records: Records, entity: Entity, filters: Any, sort: list[str],
               fields: Sequence[str] | None) -> tuple[ListShape | None, dict[str, Any]]:
    """The list statement for this shape of filters (fields and operators, not
    values), sort and fields, built once and kept with the entity's table, and the
    bind parameters of ``filters``; (None, {}) when a value needs another shape.

    A kept statement is used only while the caller may read the same fields of the
    entities it touches as the caller it was built for."""
    items = normalise_filters(filters)
    key = (tuple((path, op.lower().strip()) for path, op, _ in items), tuple(sort),
           tuple(fields) if fields else None)
    kept = records.tables[entity.table_name].info.setdefault("yiti_list_shapes", {})
    shape = kept.get(key)
    if shape is not None and shape.readable == _readable(records, shape.entities):
        shapes, params = _bound(shape.binders, items)
        if shapes == shape.shapes:
            return shape, params
    touched: dict[str, Entity] = {entity.name: entity}

    def may_read(e: Entity, name: str) -> bool:
        touched[e.name] = e
        readable = records.policy.readable(records.actor, e)
        return readable is None or name in readable or name in ("id", "name")

    binders: list[Binder] = []
    compiler = Compiler(records.model, entity, records.tables, may_read, binders=binders,
                        arrays=records._arrays)
    where = compiler.where(items)
    query, keys, key_labels = list_query(records, compiler, entity, sort, fields)
    statement = ordered(query.where(and_(true(), *where)), keys).limit(bindparam("_limit"))
    shapes, params = _bound(binders, items)
    entities = tuple(touched.values())
    shape = ListShape(statement, key_labels, binders, shapes, entities,
                      _readable(records, entities))
    if len(kept) >= MAX_KEPT_SHAPES:  # clients may send endless shapes: start again
        kept.clear()
    kept[key] = shape
    return shape, params


def _readable(records: Records, entities: Sequence[Entity]
              ) -> tuple[frozenset[str] | None, ...]:
    return tuple(records.policy.readable(records.actor, e) for e in entities)


def _bound(binders: list[Binder], filters: list[tuple[str, str, Any]]
           ) -> tuple[tuple[bool, ...], dict[str, Any]]:
    """The filters' values parsed by their binders: each one's shape, and the bind
    parameters of them all."""
    shapes, params = [], {}
    for binder, (_, _, value) in zip(binders, filters, strict=True):
        parsed = binder.parse(value)
        shapes.append(binder.shape(parsed))
        params.update(binder.params(parsed))
    return tuple(shapes), params


def _columns(records: Records, compiler: Compiler, entity: Entity,
             fields: Sequence[str] | None) -> list[Any]:
    readable = records.policy.readable(records.actor, entity)
    base = compiler.base
    if not fields:
        return [c for c in base.c if readable is None or c.name in readable
                or c.name not in entity.fields]
    cols = [base.c.id]
    for i, path in enumerate(fields):
        if path == "id":
            continue
        _, f, col = compiler.resolve(path, f"fields[{i}]")
        if f.is_table:
            raise ValidationError([FieldProblem(f"fields[{i}]",
                                                f"{path} is a table of lines")])
        cols.append(col.label(path) if "." in path else col)
    return cols
