"""The record service: the one door for reading and writing records.

Validation, defaults, naming series, permissions, optimistic locking, the audit trail and
hooks happen here once; the web UI, the REST API, imports, reports and scripts are thin
callers. Every operation runs in one transaction, or joins the caller's unit of work.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from yiti.db import kept_statement, run_kept
from yiti.definitions.model import SYSTEM_COLUMNS, Entity, Field, label_text
from yiti.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    NotFound,
    ValidationError,
    YitiError,
)
from yiti.permissions.policy import Actor
from yiti.records import audit, bulk, formulas, naming
from yiti.records.hooks import HookContext
from yiti.records.query import (
    Binder,
    Compiler,
    after_segments,
    decode_cursor,
    encode_cursor,
    in_list,
    normalise_filters,
    nulls_are_largest,
    ordered,
)
from yiti.records.transaction import Transaction, current, reading, transaction
from yiti.records.validate import clean, unknown_keys
from yiti.schema.tables import short_name
from yiti.values import ValueProblem, copy_value, parse, parse_reference

if TYPE_CHECKING:
    from yiti.site import Site

UTC = dt.UTC
Record = dict[str, Any]
MAX_PAGE = 1000
#: Ids per query when create_many checks that its records' links exist.
LINK_CHUNK = 5000


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


#: How many list shapes each table keeps (see ``Records._kept_shape``).
MAX_KEPT_SHAPES = 256


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


def _page(rows: list[dict[str, Any]], limit: int, key_labels: list[str]) -> Page:
    """The page of ``rows`` (read with one more than ``limit``, to know there are more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    if any(n.startswith("_k") for n in key_labels):
        out = [{k: v for k, v in row.items() if not k.startswith("_k")} for row in rows]
    else:
        out = rows
    cursor = encode_cursor([rows[-1][n] for n in key_labels]) if more and rows else None
    return Page(out, cursor, more)


class Records:
    """Records as seen by one actor. Get one with :meth:`yiti.site.Site.records`."""

    def __init__(self, site: Site, actor: Actor) -> None:
        self.site = site
        self.actor = actor
        self.model = site.model
        self.tables = site.tables
        self.policy = site.policy

    # -- transactions -------------------------------------------------------------

    @contextmanager
    def unit_of_work(self) -> Iterator[Transaction]:
        """Run several operations in one transaction: all are saved, or none."""
        with transaction(self.site.engine) as tx:
            yield tx

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the current transaction commits; now if there is none."""
        from yiti.records.transaction import current

        tx = current(self.site.engine)
        if tx is None:
            callback()
        else:
            tx.after_commit.append(callback)

    # -- reads --------------------------------------------------------------------

    def get(self, entity_name: str, ident: int | str, *, action: str = "read") -> Record:
        """The record with id (or name) ``ident``, with its lines; NotFound if hidden."""
        entity = self._entity(entity_name)
        with reading(self.site.engine) as conn:
            row = self._load(conn, entity, ident)
            self.policy.check(self.actor, entity, action, row)
            tx = current(self.site.engine)
            if tx is not None:
                self._note_seen(tx, entity, [row])
                if self._shares_nothing(entity):
                    _loaded(tx)[(entity.table_name, row["id"])] = row  # see update
            return self._present(entity, row)

    def get_many(self, entity_name: str, ids: Iterable[int], *, action: str = "read"
                 ) -> dict[int, Record]:
        """The records with these ids, by id, with their lines, as :meth:`get` gives each:
        one query for the records and one per table of lines, whatever their number. A
        record that does not exist or that :meth:`get` would refuse is left out."""
        entity = self._entity(entity_name)
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return {}
        t = self.tables[entity.table_name]
        query = select(t).where(t.c.id.in_(wanted))
        row_rule = self.policy.row_filter(self.actor, entity, t)
        if row_rule is not None:
            query = query.where(row_rule)
        with reading(self.site.engine) as conn:
            rows = {r["id"]: _plain(r) for r in conn.execute(query).mappings()}
            for f in entity.table_fields:
                child = self.model.entities[f.target or ""]
                ct = self.tables[child.table_name]
                for rec in rows.values():
                    rec[f.name] = []
                if rows:
                    lines = conn.execute(select(ct).where(ct.c.parent_id.in_(sorted(rows)))
                                         .order_by(ct.c.parent_id, ct.c.idx)).mappings()
                    for line in lines:
                        rows[line["parent_id"]][f.name].append(_plain(line))
        self._note_read(entity, list(rows.values()))
        out: dict[int, Record] = {}
        for ident, row in rows.items():
            try:
                self.policy.check(self.actor, entity, action, row)
            except (Forbidden, NotFound):
                continue
            out[ident] = self._present(entity, row)
        return out

    def list(
        self,
        entity_name: str,
        *,
        filters: Any = None,
        sort: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        after_cursor: str | None = None,
        search: str | None = None,
        fields: Sequence[str] | None = None,
        action: str = "read",
    ) -> Page:
        """A page of records matching ``filters`` (see :mod:`yiti.records.query`).

        Use ``after_cursor`` (the previous page's ``next``) for keyset pagination, which
        stays fast on any page; ``offset`` is there for "jump to page N".
        ``fields`` may name link paths (``customer.city``), returned under that key.
        """
        entity = self._entity(entity_name)
        self.policy.check(self.actor, entity, action, None)
        limit = entity.list_defaults.page_size if limit is None else limit
        if not 0 < limit <= MAX_PAGE:
            raise ValidationError([FieldProblem("limit", f"must be 1 to {MAX_PAGE}")])
        if offset is not None and offset < 0:
            raise ValidationError([FieldProblem("offset", "must not be negative")])
        sort = list(sort or entity.list_defaults.sort)
        table = self.tables[entity.table_name]
        shape: ListShape | None = None
        if not (search or after_cursor or offset) and self.policy.row_filter(
                self.actor, entity, table) is None:
            shape, params = self._kept_shape(entity, filters, sort, fields)
        if shape is not None:  # the common case, built once: see _kept_shape
            params["_limit"] = limit + 1
            with reading(self.site.engine) as conn:
                rows = run_kept(conn, shape.statement, params)
            self._note_read(entity, rows)
            return _page(rows, limit, shape.key_labels)
        compiler = self._compiler(entity)
        conditions = self._conditions(compiler, entity, filters, search)
        query, keys, key_labels = self._list_query(compiler, entity, sort, fields)
        segments: list[Any] = [true()]
        if after_cursor:
            segments = after_segments(keys, decode_cursor(after_cursor, keys),
                                      nulls_largest=nulls_are_largest(
                                          self.site.engine.dialect.name))
        rows = []
        with reading(self.site.engine) as conn:
            for segment in segments:  # one query, or two when nulls follow (see after_segments)
                page = ordered(query.where(and_(true(), *conditions, segment)), keys)
                page = page.limit(limit + 1 - len(rows))
                if offset:
                    page = page.offset(offset)
                result = conn.execute(page)
                names = [str(k) for k in result.keys()]  # plain str keys, worked out once
                rows += [dict(zip(names, row, strict=True)) for row in result.all()]
                if len(rows) > limit:
                    break
        self._note_read(entity, rows)
        return _page(rows, limit, key_labels)

    def _list_query(self, compiler: Compiler, entity: Entity, sort: list[str],
                    fields: Sequence[str] | None) -> tuple[Any, list[Any], list[str]]:
        """The select of a list without its conditions, its sort keys, and the name of
        each key's column in the rows."""
        keys = compiler.order(sort)
        columns = self._columns(compiler, entity, fields)
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

    def _kept_shape(self, entity: Entity, filters: Any, sort: list[str],
                    fields: Sequence[str] | None) -> tuple[ListShape | None, dict[str, Any]]:
        """The list statement for this shape of filters (fields and operators, not
        values), sort and fields, built once and kept with the entity's table, and the
        bind parameters of ``filters``; (None, {}) when a value needs another shape.

        Building and keying a select costs more CPU than running it on a warm
        connection. A kept statement is used only while the caller may read the same
        fields of the entities it touches as the caller it was built for."""
        items = normalise_filters(filters)
        key = (tuple((path, op.lower().strip()) for path, op, _ in items), tuple(sort),
               tuple(fields) if fields else None)
        kept = self.tables[entity.table_name].info.setdefault("yiti_list_shapes", {})
        shape = kept.get(key)
        if shape is not None and shape.readable == self._readable(shape.entities):
            shapes, params = _bound(shape.binders, items)
            if shapes == shape.shapes:
                return shape, params
        touched: dict[str, Entity] = {entity.name: entity}

        def may_read(e: Entity, name: str) -> bool:
            touched[e.name] = e
            readable = self.policy.readable(self.actor, e)
            return readable is None or name in readable or name in ("id", "name")

        binders: list[Binder] = []
        compiler = Compiler(self.model, entity, self.tables, may_read, binders=binders,
                            arrays=self._arrays)
        conditions = compiler.where(items)
        query, keys, key_labels = self._list_query(compiler, entity, sort, fields)
        statement = ordered(query.where(and_(true(), *conditions)), keys).limit(
            bindparam("_limit"))
        shapes, params = _bound(binders, items)
        entities = tuple(touched.values())
        shape = ListShape(statement, key_labels, binders, shapes, entities,
                          self._readable(entities))
        if len(kept) >= MAX_KEPT_SHAPES:  # clients may send endless shapes: start again
            kept.clear()
        kept[key] = shape
        return shape, params

    def _readable(self, entities: Sequence[Entity]) -> tuple[frozenset[str] | None, ...]:
        return tuple(self.policy.readable(self.actor, e) for e in entities)

    def count(self, entity_name: str, *, filters: Any = None, search: str | None = None,
              cap: int = 10_000) -> Count:
        """How many records match, counting at most ``cap`` (never a full scan per page)."""
        entity = self._entity(entity_name)
        self.policy.check(self.actor, entity, "read", None)
        compiler = self._compiler(entity)
        conditions = self._conditions(compiler, entity, filters, search)
        inner = (select(compiler.base.c.id).select_from(compiler.source)
                 .where(and_(true(), *conditions)).limit(cap + 1).subquery())
        with reading(self.site.engine) as conn:
            n = conn.execute(select(func.count()).select_from(inner)).scalar_one()
        return Count(min(n, cap), n <= cap)

    def history(self, entity_name: str, ident: int) -> list[Record]:
        """The audit trail of a record, oldest first (needs read access to the record)."""
        record = self.get(entity_name, ident)
        audit_table = self.tables["yiti_audit"]
        tx = current(self.site.engine)
        if tx is not None:  # this transaction's own changes are part of the history
            self._flush_audit(tx)
        with reading(self.site.engine) as conn:
            rows = conn.execute(
                select(audit_table).where(audit_table.c.entity == entity_name,
                                          audit_table.c.record_id == record["id"])
                .order_by(audit_table.c.id)
            ).mappings().all()
        readable = self.policy.readable(self.actor, self._entity(entity_name))
        out = []
        for row in rows:
            item = _plain(row)
            if readable is not None:
                item["changes"] = {k: v for k, v in item["changes"].items() if k in readable}
            out.append(item)
        return out

    # -- writes -------------------------------------------------------------------

    def create(self, entity_name: str, values: Mapping[str, Any]) -> Record:
        """Validate and save a new record with its lines; returns it as stored."""
        entity = self._entity(entity_name, writable=True)
        with transaction(self.site.engine) as tx:
            values = self._looked_up(tx, entity, values, "create")
            self.policy.check(self.actor, entity, "create", values)
            self._refuse_unwritable(entity, values, None)
            return self._insert(tx, entity, self._with_defaults(entity, values),
                                checked=values)

    def create_many(self, entity_name: str, rows: Iterable[Mapping[str, Any]], *,
                    action: str = "create") -> list[int]:
        """Create many records in one transaction (imports, bulk loads); returns ids.

        Each record goes through the same checks and hooks as :meth:`create` (row
        rules included: a record the actor may not create is :class:`Forbidden`, naming
        its row); the inserts are batched. Nothing is saved if any record is refused,
        and the error names the row (``rows[12].qty``). Imports pass
        ``action="import"``: the caller needs that permission as well as ``create``.
        """
        entity = self._entity(entity_name, writable=True)
        self.policy.check(self.actor, entity, "create", None)
        if action != "create":
            self.policy.check(self.actor, entity, action, None)
        docs: list[dict[str, Any]] = []
        checked: list[Mapping[str, Any]] = []  # each row's values the row rules passed
        refused: dict[int, list[FieldProblem]] = {}
        # Whether a new record may be given a key depends on the key alone, not its value:
        # once a row's keys all passed, they pass in every later row unasked.
        accepted: set[str] = set()
        with transaction(self.site.engine) as tx:
            for i, values in enumerate(rows):
                try:  # row rules (a clerk's own store), as create checks them
                    values = self._looked_up(tx, entity, values, "create")
                    self.policy.check(self.actor, entity, "create", values)
                except Forbidden as error:
                    raise Forbidden(f"rows[{i}]: {error.message}", **error.details) from None
                checked.append(values)
                try:
                    if not accepted.issuperset(values):
                        self._refuse_unwritable(entity, values, None)
                        accepted.update(values)
                except ValidationError as error:
                    refused[i] = error.problems
                    docs.append({})
                    continue
                docs.append(self._with_defaults(entity, values))
            refused.update(self._prepare_many(tx, entity, docs, skip=set(refused)))
            if refused:
                raise ValidationError([FieldProblem(f"rows[{i}].{p.field}", p.message, p.code)
                                       for i in sorted(refused) for p in refused[i]],
                                      entity=entity.name)
            try:
                return self._write_new(tx, entity, docs, checked=checked)
            except ValidationError as error:
                raise self._unique_rows(tx, entity, docs, error) from None

    def _unique_rows(self, tx: Transaction, entity: Entity, docs: list[dict[str, Any]],
                     error: ValidationError) -> ValidationError:
        """When the database refused a batch for a unique field (or combination), the
        rows at fault, for every unique field and combination: each repeating an earlier
        row's value, or a value already stored.
        Run after the batch's savepoint rolled back, on the values as written (after the
        before_save hooks); ``error`` itself when no row can be named."""
        unique = [p for p in error.problems if p.code == "unique"]
        if not unique or len(unique) != len(error.problems):
            return error
        t = self.tables[entity.table_name]
        keys = [(f.name,) for f in entity.stored_fields if f.unique]
        keys += [tuple(key) for key in entity.unique_together]
        found: list[tuple[int, FieldProblem]] = []
        for key in keys:  # all of them: the database names only the first it met
            problem = (FieldProblem(key[0], "is already used by another record", "unique")
                       if len(key) == 1 else
                       FieldProblem(key[0], f"the combination of {', '.join(key)} is already "
                                    "used", "unique"))
            first: dict[tuple[Any, ...], int] = {}
            for i, doc in enumerate(docs):
                value = tuple(doc.get(k) for k in key)
                if None in value:
                    continue
                if value in first:
                    found.append((i, problem))
                else:
                    first[value] = i
            values = sorted(first, key=repr)
            columns = [t.c[k] for k in key]
            for start in range(0, len(values), LINK_CHUNK):
                chunk = values[start:start + LINK_CHUNK]
                condition = (columns[0].in_([v[0] for v in chunk]) if len(key) == 1
                             else tuple_(*columns).in_(chunk))
                for row in tx.conn.execute(select(*columns).where(condition)):
                    i = first.get(tuple(row))
                    if i is not None:
                        found.append((i, problem))
        if not found:
            return error
        return ValidationError([FieldProblem(f"rows[{i}].{p.field}", p.message, p.code)
                                for i, p in sorted(found, key=lambda item: item[0])],
                               entity=entity.name)

    def _prepare_many(self, tx: Transaction, entity: Entity, docs: list[dict[str, Any]], *,
                      skip: set[int]) -> dict[int, list[FieldProblem]]:
        """:meth:`_prepare` for the new records of :meth:`create_many`: the same steps in
        the same order for each record, with what is the same for every record worked
        out once (which hooks there are; whether the entity and its lines have links,
        formulas or conditions at all), and the links of all records checked together,
        in one query instead of one per link. Returns each refused row's
        problems by index; rows in ``skip`` are left alone.
        """
        kinds = self._with_children(entity)
        fields = [f for e in kinds for f in e.fields.values()]
        has_links = any(f.type in ("link", "attachment") for f in fields)
        has_formulas = any(f.formula for f in fields)
        has_conditions = any(f.required_if for f in fields)
        before_hooks = bool(self.site.hooks.for_event(entity.name, "before_validate"))
        validate_hooks = bool(self.site.hooks.for_event(entity.name, "validate"))
        lang = self.actor.attributes.get("language", "en")
        refused: dict[int, list[FieldProblem]] = {}
        for i, doc in enumerate(docs):
            if i in skip:
                continue
            try:
                if before_hooks:
                    self._before_validate(tx, entity, doc, None)
                problems = self._parsed(tx, entity, doc, lookups=has_links)
                if problems:
                    raise ValidationError(problems, entity=entity.name)
                if has_formulas:
                    formulas.derive(self.model, entity, doc)
                problems = formulas.check_rules(self.model, entity, doc, lang=lang)
                if has_conditions:
                    problems += formulas.check_conditions(self.model, entity, doc)
                if problems:
                    raise ValidationError(problems, entity=entity.name)
            except ValidationError as error:
                refused[i] = error.problems
        if has_links:
            for i, problems in self._missing_links(tx, entity, docs, skip | set(refused)):
                refused[i] = problems
        if validate_hooks:
            for i, doc in enumerate(docs):
                if i in skip or i in refused:
                    continue
                try:
                    self._run_hooks(entity, "validate", doc, None)
                except ValidationError as error:
                    refused[i] = error.problems
        return refused

    def _with_children(self, entity: Entity) -> list[Entity]:
        """``entity`` and the entities of its lines, at any depth."""
        found = [entity]
        for e in found:
            found += [self.model.entities[f.target or ""] for f in e.table_fields
                      if self.model.entities[f.target or ""] not in found]
        return found

    def _missing_links(self, tx: Transaction, entity: Entity, docs: list[dict[str, Any]],
                       skip: set[int]) -> Iterator[tuple[int, list[FieldProblem]]]:
        """Each row (not in ``skip``) with links to rows that don't exist, and the
        problems, each at its field (``lines[2].item``); one query for all
        rows (:meth:`_existing`)."""
        wanted: list[tuple[int, str, str, str, int]] = []  # row, path, what, table, id
        for i, doc in enumerate(docs):
            if i not in skip:
                self._links_in(entity, doc, "", i, wanted)
        if not wanted:
            return
        by_table: dict[str, set[int]] = {}
        for _, _, _, table, ident in wanted:
            by_table.setdefault(table, set()).add(ident)
        found = self._existing(tx, by_table) - self._foreign_files(by_table.get("yiti_file",
                                                                                set()))
        by_row: dict[int, list[FieldProblem]] = {}
        for i, path, what, table, ident in wanted:
            if (table, ident) not in found:
                by_row.setdefault(i, []).append(FieldProblem(path, _no_such(what, ident), "link"))
        yield from sorted(by_row.items())

    def _existing(self, tx: Transaction, ids: Mapping[str, set[Any]]) -> set[tuple[str, Any]]:
        """Which of ``ids`` (by table name) exist, as (table, id). Rows this transaction has
        seen (:func:`_seen`) need no lookup; the others take one query for all tables (a
        ``UNION ALL``, built once per set of tables), in chunks of :data:`LINK_CHUNK` ids,
        and those found are seen from then on."""
        seen = _seen(tx)
        found = {(n, i) for n, values in ids.items() for i in values if (n, i) in seen}
        ids = {n: unseen for n, values in ids.items()
               if (unseen := {i for i in values if (n, i) not in seen})}
        if not ids:
            return found
        names = tuple(sorted(ids))
        arrays = self._arrays

        def build(_: Any) -> Any:
            parts = [select(literal(i, Integer).label("t"), self.tables[n].c.id.label("id"))
                     .where(in_list(self.tables[n].c.id, f"ids_{i}", arrays=arrays))
                     for i, n in enumerate(names)]
            return parts[0] if len(parts) == 1 else union_all(*parts)

        query = kept_statement(self.tables[names[0]], ("exists", names, arrays), build)
        ordered_ids = [sorted(ids[n]) for n in names]
        looked_up: set[tuple[str, Any]] = set()
        for start in range(0, max(len(chunk) for chunk in ordered_ids), LINK_CHUNK):
            params = {f"ids_{i}": chunk[start:start + LINK_CHUNK]
                      for i, chunk in enumerate(ordered_ids)}
            looked_up.update((names[row["t"]], row["id"])
                             for row in run_kept(tx.conn, query, params))
        seen.update(looked_up)
        return found | looked_up

    def _links_in(self, entity: Entity, doc: Mapping[str, Any], prefix: str, row: int,
                  out: list[tuple[int, str, str, str, int]]) -> None:
        for f in entity.fields.values():
            if f.is_table:
                child = self.model.entities[f.target or ""]
                for i, line in enumerate(doc.get(f.name) or []):
                    self._links_in(child, line, f"{prefix}{f.name}[{i}].", row, out)
                continue
            value = doc.get(f.name)
            if value is None or f.type not in ("link", "attachment"):
                continue
            if f.type == "attachment":
                out.append((row, f"{prefix}{f.name}", "file", "yiti_file", value))
            else:
                target = self.model.entities[f.target or ""]
                out.append((row, f"{prefix}{f.name}", target.name, target.table_name, value))

    def update(self, entity_name: str, ident: int | str, values: Mapping[str, Any], *,
               version: int | None = None) -> Record:
        """Change some fields (a table field given replaces all its lines).

        ``version`` is the version the caller read: if the record changed since, the
        update is refused with :class:`Conflict` instead of overwriting.
        """
        entity = self._entity(entity_name, writable=True)
        version = values.get("version", version) if version is None else version
        with transaction(self.site.engine) as tx:
            # The record as this transaction read it, when the caller says it changes that
            # version: the update's WHERE version = ... makes it the stored one, or refuses
            seen = _loaded(tx).get((entity.table_name, _id_of(ident)))
            if seen is None or seen["version"] != _id_of(version):
                seen = self._load(tx.conn, entity, ident)
            old = self._present(entity, seen, hide=False)
            self.policy.check(self.actor, entity, "write", old)
            values = self._looked_up(tx, entity, values, "write")
            self._refuse_unwritable(entity, values, old)
            self._expect(entity, old, version)
            if entity.submittable and old["docstatus"] != "draft":
                raise Conflict(f"{self._title(entity, old)} is {old['docstatus']}; "
                               "cancel and amend it to change it", record=old["id"])
            doc = copy_value(old)
            for key, value in values.items():
                if key not in ("id", "version"):
                    doc[key] = copy_value(value)
            # The new values must still be inside the actor's rows: a clerk can't move a
            # record out of their own store.
            checked = {k: v for k, v in doc.items() if k != "id"}
            self.policy.check(self.actor, entity, "write", checked)
            for f in entity.table_fields:  # new lines get their fields' defaults
                if isinstance(values.get(f.name), list):
                    child = self.model.entities[f.target or ""]
                    known = {line["id"] for line in old.get(f.name) or []}
                    strangers = [FieldProblem(f"{f.name}[{i}].id",
                                              f"line {line['id']} is not a line of this record",
                                              "unknown_line")
                                 for i, line in enumerate(doc[f.name])
                                 if isinstance(line, dict) and line.get("id")
                                 and line["id"] not in known]
                    if strangers:
                        raise ValidationError(strangers, entity=entity.name)
                    # A kept line sent back without some fields keeps their stored values.
                    stored = {line["id"]: line for line in old.get(f.name) or []}
                    doc[f.name] = [
                        {**stored[line["id"]], **line} if isinstance(line, dict)
                        and line.get("id") in stored else self._child_defaults(child, line)
                        for line in doc[f.name]]
            return self._save_existing(tx, entity, old, doc, "update",
                                       checked=("write", checked))

    def delete(self, entity_name: str, ident: int | str, *, version: int | None = None) -> None:
        entity = self._entity(entity_name, writable=True)
        with transaction(self.site.engine) as tx:
            old = self._present(entity, self._load(tx.conn, entity, ident), hide=False)
            self.policy.check(self.actor, entity, "delete", old)
            self._expect(entity, old, version)
            if entity.submittable and old["docstatus"] == "submitted":
                raise Conflict(f"{self._title(entity, old)} is submitted; cancel it first",
                               record=old["id"])
            self._run_hooks(entity, "before_delete", old, old)
            t = self.tables[entity.table_name]
            try:
                with tx.conn.begin_nested():
                    done = tx.conn.execute(delete(t).where(t.c.id == old["id"],
                                                           t.c.version == old["version"]))
            except IntegrityError:
                raise Conflict(f"{self._title(entity, old)} is still used by other records",
                               record=old["id"]) from None
            if done.rowcount != 1:
                raise self._stale(entity, old)
            seen = _seen(tx)
            seen.discard((t.name, old["id"]))
            for f in entity.table_fields:  # its lines went with it
                child = self.model.entities[f.target or ""].table_name
                seen.difference_update((child, line["id"]) for line in old.get(f.name) or [])
            _loaded(tx).pop((t.name, old["id"]), None)
            self._audit(tx, entity, old["id"], "delete", None, old, None)
            _wrote(tx)
            self._run_hooks(entity, "after_delete", old, old)

    def submit(self, entity_name: str, ident: int | str, *, version: int | None = None
               ) -> Record:
        """Draft → submitted: the record becomes immutable (cancel and amend to change)."""
        return self._transition(entity_name, ident, version, "submit", "draft", "submitted",
                                "on_submit")

    def cancel(self, entity_name: str, ident: int | str, *, version: int | None = None
               ) -> Record:
        """Submitted → cancelled."""
        return self._transition(entity_name, ident, version, "cancel", "submitted",
                                "cancelled", "on_cancel")

    def transition(self, entity_name: str, ident: int | str, values: Mapping[str, Any], *,
                   action: str, version: int | None = None, docstatus: str | None = None
                   ) -> Record:
        """Set the fields a workflow transition sets (its state field included).

        For the workflow engine (:mod:`yiti.workflow`), which decides who may take
        ``action`` before calling. Exactly the fields in ``values`` may be set even when
        read-only, on a record in any docstatus; everything else is as :meth:`update`:
        read access, validation, hooks, optimistic locking, and an audit row under
        ``action``. ``docstatus`` (``submitted``/``cancelled``) also moves the record's
        lifecycle, running ``on_submit``/``on_cancel``.
        """
        entity = self._entity(entity_name, writable=True)
        with transaction(self.site.engine) as tx:
            old = self._present(entity, self._load(tx.conn, entity, ident), hide=False)
            self.policy.check(self.actor, entity, "read", old)
            self._expect(entity, old, version)
            problems = unknown_keys(entity, values)
            if problems:
                raise ValidationError(problems, entity=entity.name)
            doc = copy_value(old)
            doc.update({k: copy_value(v) for k, v in values.items()})
            if docstatus and entity.submittable and docstatus != old["docstatus"]:
                event = {"submitted": "on_submit", "cancelled": "on_cancel"}.get(docstatus)
                if event:
                    self._run_hooks(entity, event, doc, old)
            else:
                docstatus = None
            return self._save_existing(tx, entity, old, doc, action, docstatus=docstatus)

    def amend(self, entity_name: str, ident: int | str) -> Record:
        """A new draft copied from a cancelled record, linked to it by ``amended_from``."""
        entity = self._entity(entity_name, writable=True)
        with transaction(self.site.engine) as tx:
            old = self._present(entity, self._load(tx.conn, entity, ident), hide=False)
            self.policy.check(self.actor, entity, "create", old)
            if old.get("docstatus") != "cancelled":
                raise Conflict(f"only a cancelled record can be amended; "
                               f"{self._title(entity, old)} is {old.get('docstatus')}")
            values = {k: copy_value(old[k]) for k in entity.fields
                      if not entity.fields[k].formula}
            for f in entity.table_fields:
                values[f.name] = [{k: v for k, v in line.items() if k not in ("id", "idx")}
                                  for line in values.get(f.name) or []]
            t = self.tables[entity.table_name]
            base = re.sub(r"-\d+$", "", old["name"]) if old.get("amended_from") else old["name"]
            n = tx.conn.execute(select(func.count()).where(
                t.c.name.like(f"{base}-%"), t.c.amended_from.is_not(None))).scalar_one()
            doc = self._with_defaults(entity, values)
            doc["name"] = f"{base}-{n + 1}"
            doc["amended_from"] = old["id"]
            return self._insert(tx, entity, doc, checked=old, name_drawn=True)

    def adjust(self, entity_name: str, changes: Iterable[tuple[int, Mapping[str, Any]]]
               ) -> list[Record]:
        """Add to counters atomically: ``[(id, {"available": -2, "reserved": 2}), ...]``.

        Each record is changed by one conditional ``UPDATE ... SET f = f + delta`` that also
        checks each field's ``min`` and ``max`` in the same statement, so two concurrent
        callers can never take a counter below its minimum (stock is never oversold), and
        no lock is held longer than the statement's row lock. Records are updated in id
        order, so two callers adjusting the same records can't deadlock. A change that
        would break a bound raises :class:`ValidationError` naming the record and field;
        in a unit of work, everything rolls back.

        Adjustments are audited, but run no formulas or hooks: use them for counters
        (stock levels, balances, points), not for ordinary edits.
        """
        entity = self._entity(entity_name, writable=True)
        self.policy.check(self.actor, entity, "write", None)
        writable = self.policy.writable(self.actor, entity)
        t = self.tables[entity.table_name]
        plan = sorted(((int(ident), dict(deltas)) for ident, deltas in changes),
                      key=lambda item: item[0])
        out = []
        with transaction(self.site.engine) as tx:
            for ident, deltas in plan:
                _loaded(tx).pop((t.name, ident), None)
                parsed = {}
                for name, delta in deltas.items():
                    f = entity.fields.get(name)
                    if f is None or f.type not in ("integer", "decimal", "money", "percent"):
                        raise ValidationError([FieldProblem(name, "is not a number field "
                                                            f"of {entity.name}")])
                    if writable is not None and name not in writable:
                        raise ValidationError([FieldProblem(name, "you may not change this "
                                                            "field", "forbidden_field")])
                    try:
                        parsed[name] = parse(f, delta)
                    except ValueProblem as problem:
                        raise ValidationError([FieldProblem(name, problem.message,
                                                            problem.code)]) from None
                row_rule = self.policy.row_filter(self.actor, entity, t)
                params = {"_where_id": ident, "modified_at": dt.datetime.now(UTC),
                          "modified_by": self.actor.name,
                          **{f"_delta_{name}": value for name, value in parsed.items()}}
                if row_rule is None:
                    found = run_kept(tx.conn, kept_statement(
                        t, ("adjust", tuple(parsed)),
                        functools.partial(_adjustment, entity, tuple(parsed))), params)
                else:  # the actor's own row condition: a statement for this call only
                    found = [_plain(r) for r in tx.conn.execute(
                        _adjustment(entity, tuple(parsed), t).where(row_rule), params
                    ).mappings()]
                if not found:
                    raise self._refused_adjustment(tx, entity, ident, parsed)
                after_values = found[0]
                self._audit(tx, entity, ident, "adjust", after_values["version"],
                            {n: after_values[n] - parsed[n] for n in parsed},
                            {n: after_values[n] for n in parsed})
                _wrote(tx)
                out.append(after_values)
        return out

    def _refused_adjustment(self, tx: Transaction, entity: Entity, ident: int,
                            deltas: Mapping[str, Any]) -> YitiError:
        t = self.tables[entity.table_name]
        query = select(t).where(t.c.id == ident)
        row_rule = self.policy.row_filter(self.actor, entity, t)
        if row_rule is not None:
            query = query.where(row_rule)
        current = tx.conn.execute(query).mappings().first()
        if current is None:
            return NotFound(f"{label_text(entity.label)} {ident} not found", entity=entity.name)
        problems = []
        for name, delta in deltas.items():
            f = entity.fields[name]
            value = (current[name] or 0) + delta
            low = parse(f, f.min) if f.min is not None else None
            high = parse(f, f.max) if f.max is not None else None
            if low is not None and value < low:
                problems.append(FieldProblem(name, f"{self._title(entity, current)} has "
                                             f"{current[name]}; {delta} would take it below "
                                             f"{low}", "min"))
            elif high is not None and value > high:
                problems.append(FieldProblem(name, f"{self._title(entity, current)} has "
                                             f"{current[name]}; {delta} would take it above "
                                             f"{high}", "max"))
        return ValidationError(problems or [FieldProblem("", "the change was refused")],
                               entity=entity.name)

    def defaults(self, entity_name: str) -> Record:
        """A new record's values before the user types anything (for blank forms)."""
        entity = self._entity(entity_name)
        return self._with_defaults(entity, {})

    # -- files --------------------------------------------------------------------

    def store_file(self, filename: str, content_type: str, data: bytes) -> int:
        """Keep an uploaded file outside the database; returns its id for attachment fields."""
        from yiti.records.files import holders, store

        if not self.actor.system and not any(
                self._allowed(self.model.entities[name], action)
                for name in {e.name for e, _ in holders(self.model)}
                for action in ("create", "write")):
            raise Forbidden("you may not create or change any record that holds files")
        with transaction(self.site.engine) as tx:
            return store(tx.conn, self.tables["yiti_file"], self.site.settings.files_path,
                         filename=filename, content_type=content_type, data=data,
                         user=self.actor.name)

    def file_info(self, file_id: int) -> Record:
        """A file's metadata (name, type, size, hash), if the actor may read a record or
        line that holds it, or uploaded it and it is not attached yet; NotFound
        otherwise, the same whether it exists or not, so file ids leak nothing."""
        from yiti.records.files import holders, is_attached

        files = self.tables["yiti_file"]
        with reading(self.site.engine) as conn:
            row = conn.execute(select(files).where(files.c.id == file_id)).mappings().first()
            if row is None:
                raise NotFound(f"file {file_id} not found")
            if self.actor.system or (row["created_by"] == self.actor.name
                                     and not is_attached(conn, self.model, self.tables,
                                                         file_id)):
                return _plain(row)
        for entity, path in holders(self.model):
            readable = self.policy.readable(self.actor, entity)
            if readable is not None and path.split(".")[0] not in readable:
                continue
            try:
                page = self.list(entity.name, filters=[(path, "=", file_id)], limit=1,
                                 fields=["id"])
            except (Forbidden, NotFound, ValidationError):
                continue  # may not list the entity, or a field on the path is hidden
            if page.rows:
                return _plain(row)
        raise NotFound(f"file {file_id} not found")

    def _allowed(self, entity: Entity, action: str) -> bool:
        try:
            self.policy.check(self.actor, entity, action)
        except (Forbidden, NotFound):
            return False
        return True

    def _foreign_files(self, ids: set[int]) -> set[tuple[str, int]]:
        """Of the file ids a write attaches (anew), those the actor may not attach: not
        uploaded by them, and held by no record they may read. Refused as if missing."""
        if not ids or self.actor.system:
            return set()
        from yiti.records.files import uploaded_by

        with reading(self.site.engine) as conn:
            mine = uploaded_by(conn, self.tables["yiti_file"], ids, self.actor.name)
        foreign = set()
        for ident in ids - mine:
            try:
                self.file_info(ident)
            except NotFound:
                foreign.add(("yiti_file", ident))
        return foreign

    def file_path(self, file_id: int) -> Any:
        """Where an attachment's bytes are, after the same check as :meth:`file_info`."""
        from yiti.records.files import file_path

        info = self.file_info(file_id)
        return file_path(self.site.settings.files_path, info["sha256"])

    # -- internals ----------------------------------------------------------------

    def _entity(self, name: str, *, writable: bool = False) -> Entity:
        try:
            entity = self.model.entity(name)
        except KeyError as error:
            raise NotFound(str(error.args[0])) from None
        if writable and entity.child:
            raise ValidationError(f"{entity.name} lines are saved with their "
                                  f"{entity.parent}, not on their own")
        return entity

    @property
    def _arrays(self) -> bool:
        """Whether lists are bound as one array parameter (:attr:`Compiler.arrays`)."""
        return self.site.engine.dialect.name == "postgresql"

    def _shares_nothing(self, entity: Entity) -> bool:
        """Whether a record's presented copy shares no value that can be changed in place
        with the stored row (no json field, on the record or its lines)."""
        return not any(f.type == "json" or (f.is_table and not self._shares_nothing(
            self.model.entities[f.target or ""])) for f in entity.fields.values())

    def _compiler(self, entity: Entity) -> Compiler:
        def may_read(e: Entity, name: str) -> bool:
            readable = self.policy.readable(self.actor, e)
            return readable is None or name in readable or name in ("id", "name")

        return Compiler(self.model, entity, self.tables, may_read)

    def _conditions(self, compiler: Compiler, entity: Entity, filters: Any,
                    search: str | None) -> list[Any]:
        conditions = compiler.where(filters)
        row_rule = self.policy.row_filter(self.actor, entity, compiler.base)
        if row_rule is not None:
            conditions.append(row_rule)
        if search:
            conditions.append(compiler.search(search[:200]))
        return conditions

    def _columns(self, compiler: Compiler, entity: Entity, fields: Sequence[str] | None
                 ) -> list[Any]:
        readable = self.policy.readable(self.actor, entity)
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

    def _load(self, conn: Any, entity: Entity, ident: int | str) -> Mapping[str, Any]:
        t = self.tables[entity.table_name]
        if isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit()):
            cond = t.c.id == int(ident)
        elif not entity.child:
            cond = t.c.name == str(ident)
        else:
            raise NotFound(f"{entity.name} {ident!r} not found")
        row_rule = self.policy.row_filter(self.actor, entity, t)
        if row_rule is None and isinstance(ident, int):
            found = run_kept(conn, _statement(t, "by_id"), {"_where_id": ident})
            row = found[0] if found else None
        else:
            query = select(t).where(cond)
            if row_rule is not None:
                query = query.where(row_rule)
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"{label_text(entity.label)} {ident} not found", entity=entity.name)
        record = _plain(row)
        for f in entity.table_fields:
            child = self.model.entities[f.target or ""]
            lines_of = _statement(self.tables[child.table_name], "lines_of")
            record[f.name] = run_kept(conn, lines_of, {"_where_parent": record["id"]})
        return record

    def _present(self, entity: Entity, row: Mapping[str, Any], *, hide: bool = True) -> Record:
        record = dict(row)
        if hide:
            readable = self.policy.readable(self.actor, entity)
            if readable is not None:
                for name in entity.fields:
                    if name not in readable:
                        record.pop(name, None)
            for f in entity.table_fields:  # lines' hidden fields too
                if isinstance(record.get(f.name), list):
                    child = self.model.entities[f.target or ""]
                    record[f.name] = [self._present(child, line) for line in record[f.name]]
        return record

    def _refuse_unwritable(self, entity: Entity, values: Mapping[str, Any],
                           old: Mapping[str, Any] | None) -> None:
        """Refuse (never silently drop) values the caller may not set.

        A value sent back unchanged (a whole record read, edited and saved) is no attempt
        to set anything and passes.
        """
        problems = unknown_keys(entity, values)
        writable = self.policy.writable(self.actor, entity)
        for key, value in values.items():
            f = entity.fields.get(key)
            if old is not None and key in old and (
                    old[key] == value or f is not None and not f.is_table
                    and _same_value(f, old[key], value)):
                continue
            if f is None:
                if key in ("id", "version") or key not in SYSTEM_COLUMNS:
                    continue
                if key == "name" and old is None and not entity.naming.series:
                    continue
                if key == "name" and self.actor.system and old is None:
                    continue  # imports keep their documents' numbers
                problems.append(FieldProblem(key, "is set by the system", "read_only"))
                continue
            if (f.read_only or f.formula) and not self.actor.system:
                problems.append(FieldProblem(key, "is read-only", "read_only"))
            elif writable is not None and key not in writable:
                problems.append(FieldProblem(key, "you may not change this field",
                                             "forbidden_field"))
        if not self.actor.system:
            problems += self._unwritable_in_lines(entity, values, old)
        if problems:
            raise ValidationError(problems, entity=entity.name)

    def _unwritable_in_lines(self, entity: Entity, values: Mapping[str, Any],
                             old: Mapping[str, Any] | None) -> list[FieldProblem]:
        """Read-only and formula fields of lines, set by hand: a new line's non-empty
        value, or a kept line's value other than the stored one (``lines[0].discount``)."""
        problems = []
        for f in entity.table_fields:
            lines = values.get(f.name)
            if not isinstance(lines, list):
                continue
            child = self.model.entities[f.target or ""]
            fixed = {c.name: c for c in child.fields.values() if c.read_only or c.formula}
            if not fixed:
                continue
            stored = {line["id"]: line for line in (old or {}).get(f.name) or []}
            for i, line in enumerate(lines):
                if not isinstance(line, dict):
                    continue
                prev = stored.get(line.get("id"))
                for key in fixed.keys() & line.keys():
                    value = line[key]
                    if prev is None:
                        if value is None or value == "":
                            continue
                    elif _same_value(fixed[key], prev.get(key), value):
                        continue
                    problems.append(FieldProblem(f"{f.name}[{i}].{key}", "is read-only",
                                                 "read_only"))
        return problems

    def _with_defaults(self, entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for f in entity.fields.values():
            if f.is_table:
                child = self.model.entities[f.target or ""]
                doc[f.name] = [self._child_defaults(child, line)
                               for line in values.get(f.name) or []]
            elif f.name in values:
                doc[f.name] = copy_value(values[f.name])
            else:
                doc[f.name] = self._default(f)
        for key in ("name",):
            if key in values:
                doc[key] = values[key]
        return doc

    def _child_defaults(self, child: Entity, line: Any) -> Any:
        if not isinstance(line, dict):
            return line
        out = {k: copy_value(v) for k, v in line.items()}
        for f in child.fields.values():
            if f.name not in out and not f.is_table:
                out[f.name] = self._default(f)
        return out

    def _default(self, f: Field) -> Any:
        """A field's default: a literal, or ``today`` / ``now`` in the site's time zone."""
        if f.default is None or isinstance(f.default, dict):
            return None
        if f.type in ("date", "datetime") and f.default in ("today", "now"):
            now = dt.datetime.now(ZoneInfo(self.site.settings.timezone))
            return now.date() if f.type == "date" else now
        return copy_value(f.default)

    def _prepare(self, tx: Transaction, entity: Entity, doc: dict[str, Any],
                 old: Record | None) -> None:
        """Hooks, checks and derived values, in the documented order."""
        self._before_validate(tx, entity, doc, old)
        problems = self._parsed(tx, entity, doc)
        if problems:
            raise ValidationError(problems, entity=entity.name)
        formulas.derive(self.model, entity, doc)
        problems = formulas.check_rules(self.model, entity, doc,
                                        lang=self.actor.attributes.get("language", "en"))
        problems += formulas.check_conditions(self.model, entity, doc)
        if problems:
            raise ValidationError(problems, entity=entity.name)
        self._check_links(tx, entity, doc, old)
        self._run_hooks(entity, "validate", doc, old)

    def _before_validate(self, tx: Transaction, entity: Entity, doc: dict[str, Any],
                         old: Record | None) -> None:
        """The ``before_validate`` hooks, given every link as its id (a number), however
        the caller gave it (an id, "12" from a form, ``{"id": 12}``, a lookup), so a hook
        comparing or reading links sees one form; other values are still as given."""
        if not self.site.hooks.for_event(entity.name, "before_validate"):
            return
        self._resolve_lookups(tx, entity, doc)  # what fails is reported by _parsed
        self._run_hooks(entity, "before_validate", doc, old)

    def _parsed(self, tx: Transaction, entity: Entity, doc: dict[str, Any], *,
                lookups: bool = True) -> list[FieldProblem]:
        """Links given as lookups resolved and every field parsed in place; all the
        problems, a failed lookup's in place of its field's."""
        problems = self._resolve_lookups(tx, entity, doc) if lookups else []
        failed = {p.field for p in problems}
        return problems + [p for p in clean(self.model, entity, doc,
                                            timezone=self.site.settings.timezone)
                           if p.field not in failed]

    def _looked_up(self, tx: Transaction, entity: Entity, values: Mapping[str, Any],
                   action: str) -> Mapping[str, Any]:
        """``values`` with each link given as a lookup (``{"email": ...}``) that matches one
        record replaced by that record's id; ``values`` itself when it has no lookups.

        Run before the checks that compare values (row rules, unchanged values), so that
        a lookup gets the answer its id would get, and the id checked is the id written.
        Only once the actor may ``action`` records of the entity at all: the lookups
        list the target as the actor, so they find only records the actor may read. One
        that finds none or several is left as given, for the row rules to refuse (as an
        id outside the actor's rows) or the checks to report at its field."""
        if not self._has_lookups(entity, values):
            return values
        self.policy.check(self.actor, entity, action, None)
        doc = copy_value(dict(values))
        self._resolve_lookups(tx, entity, doc)
        return doc

    def _has_lookups(self, entity: Entity, values: Mapping[str, Any]) -> bool:
        """Whether a link of ``values`` or of its lines is given as a lookup."""
        for key, value in values.items():
            if not isinstance(value, (dict, list)):
                continue
            f = entity.fields.get(key)
            if f is None:
                continue
            if f.is_table and isinstance(value, list):
                child = self.model.entities[f.target or ""]
                if any(isinstance(line, dict) and self._has_lookups(child, line)
                       for line in value):
                    return True
            elif _is_lookup(f, value):
                return True
        return False

    def _resolve_lookups(self, tx: Transaction, entity: Entity, doc: dict[str, Any],
                         prefix: str = "") -> list[FieldProblem]:
        """A link given as ``{field: value, ...}`` becomes the id of the one match, and one
        given as "12" or ``{"id": 12}`` the number; the problems of lookups that match
        none or several (left as they were)."""
        problems: list[FieldProblem] = []
        for f in entity.fields.values():
            value = doc.get(f.name)
            if f.is_table and isinstance(value, list):
                child = self.model.entities[f.target or ""]
                for i, line in enumerate(value):
                    if isinstance(line, dict):
                        problems += self._resolve_lookups(tx, child, line,
                                                          f"{prefix}{f.name}[{i}].")
                continue
            if not _is_lookup(f, value):
                if f.type == "link" and value is not None:
                    doc[f.name] = _link_id(value)
                continue
            try:
                page = self.list(f.target or "", filters=list(value.items()), limit=2,
                                 fields=["id"])
            except ValidationError as error:
                problems.append(FieldProblem(f"{prefix}{f.name}", error.message, "link"))
                continue
            if len(page.rows) != 1:
                what = ", ".join(f"{k}={v!r}" for k, v in value.items())
                problems.append(FieldProblem(
                    f"{prefix}{f.name}",
                    f"{'no' if not page.rows else 'more than one'} {f.target} with {what}",
                    "link"))
                continue
            doc[f.name] = page.rows[0]["id"]
        return problems

    def _note_read(self, entity: Entity, rows: list[dict[str, Any]]) -> None:
        """:meth:`_note_seen` in the current transaction, if there is one."""
        tx = current(self.site.engine)
        if tx is not None:
            self._note_seen(tx, entity, rows)

    def _note_seen(self, tx: Transaction, entity: Entity, rows: Iterable[Mapping[str, Any]]
                   ) -> None:
        """Note the rows read in ``tx`` (with their lines, when there) and the rows their
        links name, which existed when read (see :func:`_seen`)."""
        seen = _seen(tx)
        links = [(f.name, self.model.entities[f.target or ""].table_name)
                 for f in entity.fields.values() if f.type == "link"]
        for row in rows:
            seen.add((entity.table_name, row["id"]))
            for name, target in links:
                value = row.get(name)
                if value is not None:
                    seen.add((target, value))
            for f in entity.table_fields:
                lines = row.get(f.name)
                if lines:
                    self._note_seen(tx, self.model.entities[f.target or ""], lines)

    def _check_links(self, tx: Transaction, entity: Entity, doc: Mapping[str, Any],
                     old: Record | None = None) -> None:
        """Refuse links (and attachments) to rows that don't exist, each at its field.

        One query for the record and all its lines, whatever the number of links; none
        for rows the stored record (``old``) links to already, which its foreign keys
        keep in place, nor (:meth:`_existing`) for rows this transaction has seen. A row
        seen is as sure to exist as one looked up here: either may be deleted by another
        transaction before this one commits, and then the foreign key refuses the write
        (a :class:`Conflict`)."""
        wanted: list[tuple[str, str, Any, Any]] = []  # (field path, what, table, value)
        self._links_of(entity, doc, "", wanted)
        if old is not None and wanted:
            stored: list[tuple[str, str, Any, Any]] = []
            self._links_of(entity, old, "", stored)
            held = {(table.name, value) for _, _, table, value in stored}
            wanted = [w for w in wanted if (w[2].name, w[3]) not in held]
        if not wanted:
            return
        values: dict[str, set[Any]] = {}
        for _, _, table, value in wanted:
            values.setdefault(table.name, set()).add(value)
        found = self._existing(tx, values) - self._foreign_files(values.get("yiti_file", set()))
        problems = [FieldProblem(path, _no_such(what, value), "link")
                    for path, what, table, value in wanted if (table.name, value) not in found]
        if problems:
            raise ValidationError(problems, entity=entity.name)

    def _links_of(self, entity: Entity, doc: Mapping[str, Any], prefix: str,
                  out: list[tuple[str, str, Any, Any]]) -> None:
        for f in entity.fields.values():
            if f.is_table:
                child = self.model.entities[f.target or ""]
                for i, line in enumerate(doc.get(f.name) or []):
                    self._links_of(child, line, f"{prefix}{f.name}[{i}].", out)
                continue
            value = doc.get(f.name)
            if value is None or f.type not in ("link", "attachment"):
                continue
            if f.type == "attachment":
                out.append((f"{prefix}{f.name}", "file", self.tables["yiti_file"], value))
            else:
                target = self.tables[self.model.entities[f.target or ""].table_name]
                out.append((f"{prefix}{f.name}", f.target or "", target, value))

    def _insert(self, tx: Transaction, entity: Entity, doc: dict[str, Any], *,
                checked: Mapping[str, Any], name_drawn: bool = False) -> Record:
        """Create ``doc``; ``checked``: the values the row rules passed (see
        :meth:`_recheck_rows`); ``name_drawn``: as :meth:`_write_new`."""
        self._prepare(tx, entity, doc, None)
        written: list[Record] = []
        ident = self._write_new(tx, entity, [doc], written=written, checked=[checked],
                                single=True, name_drawn=name_drawn)[0]
        if written:  # as stored (RETURNING), and no after_save hook wrote since
            return self._present(entity, written[0])
        return self._present(entity, self._load(tx.conn, entity, ident))

    def _write_new(self, tx: Transaction, entity: Entity, docs: list[dict[str, Any]], *,
                   checked: Sequence[Mapping[str, Any]], single: bool = False,
                   written: list[Record] | None = None, name_drawn: bool = False) -> list[int]:
        """Insert ``docs`` with their lines; their ids. ``checked``: each doc's values as
        the row rules passed them; ``single``: one record's create (a refusal names no
        row). With ``written`` (one doc), the record as stored is appended to it, unless
        an after_save hook wrote anything. ``name_drawn``: the docs' names were made by the
        service (an amendment's), not given by the caller, so a taken one is a conflict
        rather than refused input."""
        if not docs:
            return []
        now = dt.datetime.now(UTC)
        chosen = any(doc.get("name") for doc in docs)  # not drawn from the series
        if entity.naming.series:
            if naming.uses_fields(entity.naming.series):
                names = [naming.next_names(tx.conn, tx.engine, entity, d, 1,
                                           timezone=self.site.settings.timezone)[0]
                         for d in docs]
            else:
                names = naming.next_names(tx.conn, tx.engine, entity, {}, len(docs),
                                          timezone=self.site.settings.timezone)
            for doc, name in zip(docs, names, strict=True):
                doc.setdefault("name", None)
                if not doc["name"]:
                    doc["name"] = name
        elif entity.naming.field:
            for doc in docs:
                doc["name"] = str(doc.get(entity.naming.field) or "") or None
        for doc in docs:
            self._run_hooks(entity, "before_save", doc, None)
        self._recheck_rows(entity, "create", docs, checked, single=single)
        t = self.tables[entity.table_name]
        rows = [self._row(entity, doc, now, version=1) for doc in docs]
        stored: Record | None = None
        try:
            with self._guarded(tx, entity, docs, names=chosen or bool(entity.naming.field)):
                if written is not None and len(rows) == 1:
                    stored = run_kept(tx.conn, _statement(t, "insert"), rows[0])[0]
                    ids = [stored["id"]]
                else:
                    ids = self._insert_rows(tx, t, rows)
                for ident, doc in zip(ids, docs, strict=True):
                    doc["id"] = ident
                    lines = self._write_lines(tx, entity, doc, None, now)
                    if stored is not None:
                        stored.update(lines)
        except IntegrityError as error:
            sent = None if name_drawn else entity.naming.field or ("name" if chosen else None)
            raise self._integrity(entity, error, name_from=sent) from None
        _seen(tx).update((t.name, ident) for ident in ids)
        self._audit_many(tx, entity, "create", [(ident, 1, None, doc)
                                                for ident, doc in zip(ids, docs, strict=True)])
        writes = _wrote(tx)
        for doc in docs:
            self._run_hooks(entity, "after_save", doc, None)
        if stored is not None and written is not None and _writes(tx) == writes:
            written.append(stored)
        return ids

    def _insert_rows(self, tx: Transaction, t: Any, rows: list[dict[str, Any]]) -> list[int]:
        """Insert ``rows``; their ids, in order."""
        if len(rows) == 1:
            return [run_kept(tx.conn, _statement(t, "insert_id"), rows[0])[0]["id"]]
        if tx.conn.dialect.name == "sqlite":
            # SQLite can't return ids in parameter order from a batch; inside our write
            # transaction (BEGIN IMMEDIATE) nobody else inserts, so the rows take the ids
            # after the largest, as SQLite itself would give them, here given explicitly.
            last = tx.conn.execute(select(func.max(t.c.id))).scalar_one() or 0
            ids = list(range(last + 1, last + 1 + len(rows)))
        elif len(rows) >= bulk.COPY_THRESHOLD:
            ids = bulk.draw_ids(tx.conn, t, len(rows))
        else:
            return list(tx.conn.execute(
                insert(t).returning(t.c.id, sort_by_parameter_order=True), rows).scalars())
        bulk.write_rows(tx.conn, t, [dict(row, id=i) for row, i in zip(rows, ids, strict=True)])
        return ids

    def _save_existing(self, tx: Transaction, entity: Entity, old: Record, doc: dict[str, Any],
                       action: str, docstatus: str | None = None, *,
                       checked: tuple[str, Mapping[str, Any]] | None = None) -> Record:
        """Write ``doc`` over ``old``. ``checked``: the policy's action and the values its
        row rules passed, to check again if the hooks changed what they read; None for a
        workflow's transition, whose ``by:`` decided who may take it."""
        _loaded(tx).pop((entity.table_name, old["id"]), None)
        self._prepare(tx, entity, doc, old)
        self._run_hooks(entity, "before_save", doc, old)
        if checked is not None:
            self._recheck_rows(entity, checked[0], [doc], [checked[1]], single=True)
        now = dt.datetime.now(UTC)
        t = self.tables[entity.table_name]
        row = self._row(entity, doc, now, version=old["version"] + 1, creating=False)
        if docstatus:
            row["docstatus"] = docstatus
        try:
            with self._guarded(tx, entity, [doc], old=old):
                done = run_kept(tx.conn, _statement(t, "update_version"), {
                    **row, "_where_id": old["id"], "_where_version": old["version"],
                })
                if not done:
                    raise self._stale(entity, old)
                stored = {**done[0], **self._write_lines(tx, entity, doc, old, now)}
        except IntegrityError as error:
            raise self._integrity(entity, error) from None
        self._audit(tx, entity, old["id"], action, row["version"], old, doc)
        writes = _wrote(tx)
        self._run_hooks(entity, "after_save", doc, old)
        if _writes(tx) == writes:  # as stored (RETURNING): no after_save hook wrote since
            return self._present(entity, stored)
        return self._present(entity, self._load(tx.conn, entity, old["id"]))

    def _guarded(self, tx: Transaction, entity: Entity, docs: Sequence[Mapping[str, Any]], *,
                 old: Record | None = None, names: bool = False
                 ) -> AbstractContextManager[Any]:
        """A savepoint around a write that a unique index may refuse, so that a hook may
        catch the refusal and go on in the same transaction: when a unique field or
        combination of the record (other than as stored in ``old``) or of its lines has
        all its values, or with ``names``, when a record's name was given rather than
        drawn from the series. Other writes save the savepoint's two round trips: all
        they could fail was checked before, except a linked row deleted meanwhile, which
        fails the transaction."""
        if any(self._may_collide(entity, doc, old, names=names) for doc in docs):
            return tx.conn.begin_nested()
        return nullcontext()

    def _may_collide(self, entity: Entity, doc: Mapping[str, Any], old: Record | None, *,
                     names: bool) -> bool:
        if names and doc.get("name"):
            return True
        keys = [(f.name,) for f in entity.stored_fields if f.unique]
        for key in [*keys, *entity.unique_together]:
            if all(doc.get(k) is not None for k in key) and (
                    old is None or any(doc.get(k) != old.get(k) for k in key)):
                return True
        return any(self._may_collide(self.model.entities[f.target or ""], line, None,
                                     names=False)
                   for f in entity.table_fields for line in doc.get(f.name) or [])

    def _row(self, entity: Entity, doc: Mapping[str, Any], now: dt.datetime, *, version: int,
             creating: bool = True) -> dict[str, Any]:
        row = {f.name: doc.get(f.name) for f in entity.stored_fields}
        row.update(version=version, modified_at=now, modified_by=self.actor.name)
        if creating:
            row.update(created_at=now, created_by=self.actor.name)
            if not entity.child:
                row["name"] = doc.get("name")
            if entity.submittable:
                row["docstatus"] = "draft"
                row["amended_from"] = doc.get("amended_from")
        return row

    def _write_lines(self, tx: Transaction, entity: Entity, doc: dict[str, Any],
                     old: Record | None, now: dt.datetime) -> dict[str, list[Record]]:
        """Write the lines of every table field; the lines as stored, by field."""
        out: dict[str, list[Record]] = {}
        for f in entity.table_fields:
            child = self.model.entities[f.target or ""]
            ct = self.tables[child.table_name]
            lines = doc.get(f.name) or []
            before = {line["id"]: line for line in (old or {}).get(f.name) or []}
            keep = set()
            stored: list[Record] = out.setdefault(f.name, [])
            for i, line in enumerate(lines, start=1):
                line["idx"] = i
                ident = line.get("id")
                if ident is not None and ident in before:
                    keep.add(ident)
                    row = {k: line.get(k) for k in (c.name for c in child.stored_fields)}
                    prev = before[ident]
                    if any(prev.get(k) != v for k, v in row.items()) or prev["idx"] != i:
                        stored.append(run_kept(tx.conn, _statement(ct, "update_line"), {
                            **row, "idx": i, "modified_at": now,
                            "modified_by": self.actor.name, "_where_id": ident,
                        })[0])
                    else:
                        stored.append(dict(prev))
                    continue
                if ident is not None:
                    raise ValidationError([FieldProblem(
                        f"{f.name}[{i - 1}].id", f"line {ident} is not a line of this record",
                        "unknown_line")])
                row = self._row(child, line, now, version=1)
                row.update(parent_id=doc["id"], idx=i)
                new = run_kept(tx.conn, _statement(ct, "insert"), row)[0]
                line["id"] = new["id"]
                stored.append(new)
            gone = [i for i in before if i not in keep]
            if gone:
                tx.conn.execute(delete(ct).where(ct.c.id.in_(gone)))
        return out

    def _transition(self, entity_name: str, ident: int | str, version: int | None,
                    action: str, source: str, target: str, event: str) -> Record:
        entity = self._entity(entity_name, writable=True)
        if not entity.submittable:
            raise ValidationError(f"{label_text(entity.label)} records are not submittable")
        with transaction(self.site.engine) as tx:
            old = self._present(entity, self._load(tx.conn, entity, ident), hide=False)
            self.policy.check(self.actor, entity, action, old)
            self._expect(entity, old, version)
            if old["docstatus"] != source:
                raise Conflict(f"{self._title(entity, old)} is {old['docstatus']}; "
                               f"only a {source} record can be {target}", record=old["id"])
            doc = copy_value(old)
            self._run_hooks(entity, event, doc, old)
            return self._save_existing(tx, entity, old, doc, action, docstatus=target,
                                       checked=(action, old))

    def _expect(self, entity: Entity, old: Record, version: Any) -> None:
        if version is None:
            return
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise ValidationError([FieldProblem("version", "must be a whole number")]) from None
        if version != old["version"]:
            raise self._stale(entity, old)

    def _stale(self, entity: Entity, old: Record) -> Conflict:
        return Conflict(f"{self._title(entity, old)} was changed by someone else since you "
                        f"opened it; reload it and try again", record=old["id"])

    def _title(self, entity: Entity, record: Mapping[str, Any]) -> str:
        name = record.get("name") or record.get("id")
        return f"{label_text(entity.label)} {name}"

    def _integrity(self, entity: Entity, error: IntegrityError, *,
                   name_from: str | None = None) -> ValidationError | Conflict:
        """The refusal of a write a unique index or foreign key stopped.

        A value the caller sent that another record has is refused at its field (422
        ``unique``), and so is a record name the caller chose: ``name_from`` is the field
        it came from (``name``, or the entity's ``naming.field``). A name the system drew
        (a series meeting an imported number, an amendment's suffix) is no fault of the
        input, so it stays a :class:`Conflict`."""
        key = _unique_key(entity, error)
        if key == ("name",):
            if name_from is None:
                return Conflict(f"a {label_text(entity.label)} with this name already exists")
            key = (name_from,)
        if key is not None:
            message = ("is already used by another record" if len(key) == 1
                       else f"the combination of {', '.join(key)} is already used")
            return ValidationError([FieldProblem(key[0], message, "unique")],
                                   entity=entity.name)
        return Conflict(f"the change to {label_text(entity.label)} conflicts with other "
                        "records (a linked record is missing or still in use)")

    def _audit(self, tx: Transaction, entity: Entity, ident: int, action: str,
               version: int | None, old: Mapping[str, Any] | None,
               new: Mapping[str, Any] | None) -> None:
        self._audit_many(tx, entity, action, [(ident, version, old, new)])

    def _audit_many(self, tx: Transaction, entity: Entity, action: str,
                    changes: list[tuple[int, int | None, Mapping[str, Any] | None,
                                        Mapping[str, Any] | None]]) -> None:
        """Audit rows are gathered in the transaction and written together just before
        it commits (one statement, or COPY for many), so a rolled-back transaction leaves
        none and a unit of work of many operations pays for one insert."""
        now = dt.datetime.now(UTC)
        rows = [{
            "entity": entity.name, "record_id": ident, "action": action,
            "user": self.actor.name, "at": now, "version": version,
            "changes": audit.changes(self.model, entity, old, new)
            if entity.track_changes else {},
        } for ident, version, old, new in changes]
        pending = tx.state.get(_AUDIT)
        if not isinstance(pending, list):
            pending = tx.state[_AUDIT] = []
            tx.before_commit.append(lambda: self._flush_audit(tx, with_commit=True))
        pending.extend(rows)

    def _flush_audit(self, tx: Transaction, *, with_commit: bool = False) -> None:
        """Write the audit rows gathered in ``tx`` so far; ``with_commit``: as one of the
        writes sent with the COMMIT, when they fit one statement."""
        rows = tx.state.pop(_AUDIT, None)
        if not isinstance(rows, list) or not rows:
            return
        # Many rows: COPY on PostgreSQL, one executemany of converted tuples on SQLite,
        # with the values they share (time, user, entity) converted once.
        if len(rows) > 1 and (tx.conn.dialect.name != "postgresql"
                              or len(rows) >= bulk.COPY_THRESHOLD):
            bulk.write_rows(tx.conn, self.tables["yiti_audit"], rows)
            return
        # one statement of len(rows) VALUES, built once for each count
        t, names = self.tables["yiti_audit"], tuple(rows[0])
        statement = kept_statement(t, ("insert_values", len(rows), names),
                                   functools.partial(_insert_values, len(rows), names))
        params = {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in names}
        if with_commit:
            tx.with_commit.append((statement, params))
        else:
            run_kept(tx.conn, statement, params)

    def _recheck_rows(self, entity: Entity, action: str, docs: Sequence[Mapping[str, Any]],
                      checked: Sequence[Mapping[str, Any]], *, single: bool) -> None:
        """The row rules once more, over the values about to be written, for each doc in
        which a field they read differs from the values they passed: a before_validate,
        validate or before_save hook, a formula or a default set it since. The record
        written is then one the actor may write, refused (403) as the first check would.

        Only the fields the rules read are compared, so a write whose hooks leave them
        alone costs no second check (no query for a rule through a link); the system
        and roles without row rules skip it all.
        """
        if self.actor.system:
            return
        fields = self.policy.row_fields(self.actor, entity, action)
        if not fields:
            return
        for i, (doc, seen) in enumerate(zip(docs, checked, strict=True)):
            if all(doc.get(f) == seen.get(f) for f in fields):
                continue
            try:
                self.policy.check(self.actor, entity, action,
                                  {k: v for k, v in doc.items() if k != "id"})
            except Forbidden as error:
                if single:
                    raise
                raise Forbidden(f"rows[{i}]: {error.message}", **error.details) from None

    def _run_hooks(self, entity: Entity, event: str, doc: dict[str, Any],
                   old: Mapping[str, Any] | None) -> None:
        hooks = self.site.hooks.for_event(entity.name, event)
        if not hooks:
            return
        ctx = HookContext(self, entity.name, event, old)
        for hook in hooks:
            hook(doc, ctx)


_WRITES = "yiti.records.writes"
_SEEN = "yiti.records.seen"
_LOADED = "yiti.records.loaded"
_AUDIT = "yiti.records.audit"


def _wrote(tx: Transaction) -> int:
    """Count a write of a record in ``tx``; the count so far."""
    n = int(tx.state.get(_WRITES, 0)) + 1  # type: ignore[call-overload]
    tx.state[_WRITES] = n
    return n


def _loaded(tx: Transaction) -> dict[tuple[str, Any], Record]:
    """The records ``get`` read in ``tx`` as stored, by (table, id); a write to one
    through the service forgets it."""
    return tx.state.setdefault(_LOADED, {})  # type: ignore[return-value]


def _unique_key(entity: Entity, error: IntegrityError) -> tuple[str, ...] | None:
    """The unique field (a key of one name), combination, or ``("name",)`` for the
    record's name, of ``entity`` whose index refused a write, or None. Matched whole, never by a prefix: the index of ``(a, b)``
    is no refusal of field ``a``. PostgreSQL names the index (``uq_contact_email``),
    SQLite its columns (``UNIQUE constraint failed: contact.source, contact.external_id``).
    """
    keys = [(f.name,) for f in entity.stored_fields if f.unique]
    keys += [tuple(key) for key in entity.unique_together]
    if not entity.child:
        keys.append(("name",))  # the record's name (uq_<table>_name), no field of its own
    index = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    failed = re.search(r"UNIQUE constraint failed: ([^\n]*)", str(error.orig))
    columns = {c.strip() for c in failed.group(1).split(",")} if failed else None
    for key in keys:
        if index is not None and index == short_name(f"uq_{entity.table_name}_"
                                                     f"{'_'.join(key)}"):
            return key
        if columns == {f"{entity.table_name}.{k}" for k in key}:
            return key
    return None


def _is_lookup(f: Field, value: Any) -> bool:
    """Whether ``value`` of field ``f`` is a link given as a lookup (``{"email": ...}``)
    rather than as an id or ``{"id": 3}``."""
    return f.type == "link" and isinstance(value, dict) and bool(value) and "id" not in value


def _link_id(value: Any) -> Any:
    """A link given as an id, "12" or ``{"id": 12}`` as the number; anything else as given,
    for the field's parsing to refuse at its name."""
    try:
        return parse_reference(value)
    except ValueProblem:
        return value


def _id_of(ident: int | str | None) -> int | None:
    """``ident`` (an id or a version) as a number, or None (a name, nothing)."""
    if isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit()):
        return int(ident)
    return None


def _seen(tx: Transaction) -> set[tuple[str, Any]]:
    """(table, id) of the rows ``tx`` inserted, read through the service or found linked
    from a row it read, and has not deleted: rows that existed in this transaction, whose
    links need no lookup (see ``Records._check_links``)."""
    return tx.state.setdefault(_SEEN, set())  # type: ignore[return-value]


def _writes(tx: Transaction) -> int:
    """How many records were written in ``tx`` so far (see :func:`_wrote`)."""
    return int(tx.state.get(_WRITES, 0))  # type: ignore[call-overload]


#: Statements the service runs on every write or read of one record, built once per
#: table: SQLAlchemy then neither rebuilds nor re-keys them on each call (a wide insert
#: built with ``.values(row)`` costs about 0.4 ms more). Their parameters come with the
#: call; ``_where_*`` names the WHERE clause's, the rest are column values.
_STATEMENTS: dict[str, Callable[[Any], Any]] = {
    "by_id": lambda t: select(t).where(t.c.id == bindparam("_where_id")),
    "lines_of": lambda t: select(t).where(t.c.parent_id == bindparam("_where_parent"))
    .order_by(t.c.idx),
    "insert": lambda t: insert(t).returning(*t.c),
    "insert_id": lambda t: insert(t).returning(t.c.id),
    "update_version": lambda t: update(t).where(
        t.c.id == bindparam("_where_id"), t.c.version == bindparam("_where_version"),
    ).returning(*t.c),
    "update_line": lambda t: update(t).where(t.c.id == bindparam("_where_id"))
    .values(version=t.c.version + 1).returning(*t.c),
}


def _adjustment(entity: Entity, names: tuple[str, ...], t: Any) -> Any:
    """``UPDATE ... SET f = f + :_delta_f`` of :meth:`Records.adjust` for the fields
    ``names``, guarded by each field's ``min`` and ``max``; returns the new values."""
    values, guards = {}, [t.c.id == bindparam("_where_id")]
    for name in names:
        f = entity.fields[name]
        changed = t.c[name] + bindparam(f"_delta_{name}", type_=t.c[name].type)
        values[name] = changed
        if f.min is not None:
            guards.append(changed >= parse(f, f.min))
        if f.max is not None:
            guards.append(changed <= parse(f, f.max))
    return (update(t).where(*guards)
            .values(**values, version=t.c.version + 1, modified_at=bindparam("modified_at"),
                    modified_by=bindparam("modified_by"))
            .returning(t.c.id, t.c.version, *(t.c[n] for n in values)))


def _insert_values(count: int, names: tuple[str, ...], t: Any) -> Any:
    """``INSERT INTO t (names) VALUES (...), (...)`` for ``count`` rows, each value a
    bind parameter ``<name>_<row>``."""
    return insert(t).values([{name: bindparam(f"{name}_{i}", type_=t.c[name].type)
                              for name in names} for i in range(count)])


def _statement(table: Any, kind: str) -> Any:
    """The statement ``kind`` of :data:`_STATEMENTS` for ``table``."""
    return kept_statement(table, kind, _STATEMENTS[kind])


def _same_value(f: Field, stored: Any, given: Any) -> bool:
    """Whether ``given`` (as a client sends it: "12.50" for a Decimal) is ``stored``."""
    if stored == given:
        return True
    try:
        return parse(f, given) == stored
    except ValueProblem:
        return False


def _no_such(what: str, ident: Any) -> str:
    """A link's refusal; for a file the same whether it is missing or someone else's."""
    if what == "file":
        return f"no file with id {ident} that you uploaded or may read"
    return f"no {what} with id {ident}"


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as a dict with plain ``str`` keys (SQLAlchemy's are a str subclass)."""
    return {str(k): v for k, v in row.items()}
