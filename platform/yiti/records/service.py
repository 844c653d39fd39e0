"""The record service: the one door for reading and writing records.

Validation, defaults, naming series, permissions, optimistic locking, the audit trail and
hooks happen here once; the web UI, the REST API, imports, reports and scripts are thin
callers. Every operation runs in one transaction, or joins the caller's unit of work.

The steps live in modules of their own, each a set of functions taking the service (or
what they need of it): :mod:`~yiti.records.lists`, :mod:`~yiti.records.lookups`,
:mod:`~yiti.records.access`, :mod:`~yiti.records.prepare`, :mod:`~yiti.records.links`,
:mod:`~yiti.records.writes`, :mod:`~yiti.records.counters`, :mod:`~yiti.records.files`
and :mod:`~yiti.records.audit`; this class is the order they run in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, select, true
from sqlalchemy.exc import IntegrityError

from yiti.db import run_kept
from yiti.definitions.model import Entity, label_text
from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound, ValidationError
from yiti.messages import Message
from yiti.permissions.policy import Actor
from yiti.records import (
    access,
    audit,
    counters,
    files,
    hooks,
    line_links,
    links,
    lists,
    lookups,
    writes,
)
from yiti.records.defaults import child_defaults, with_defaults
from yiti.records.lists import Count, ListShape, Page
from yiti.records.prepare import prepare, prepare_many
from yiti.records.query import after_segments, decode_cursor, nulls_are_largest, ordered
from yiti.records.statements import plain, statement
from yiti.records.transaction import Transaction, current, reading, transaction
from yiti.records.validate import unknown_keys
from yiti.records.writes import stale, title
from yiti.values import copy_value

if TYPE_CHECKING:
    from pathlib import Path

    from yiti.site import Site

__all__ = ["MAX_PAGE", "Count", "Page", "Record", "Records"]

Record = dict[str, Any]
MAX_PAGE = 1000


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
                links.note_seen(self.model, tx, entity, [row])
                if self._shares_nothing(entity):
                    writes.loaded(tx)[(entity.table_name, row["id"])] = row  # see update
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
        query = access.readable_by_id(self, entity, wanted)
        with reading(self.site.engine) as conn:
            rows = {r["id"]: plain(r) for r in conn.execute(query).mappings()}
            for f in entity.table_fields:
                child = self.model.entities[f.target or ""]
                ct = self.tables[child.table_name]
                for rec in rows.values():
                    rec[f.name] = []
                if rows:
                    lines = conn.execute(select(ct).where(ct.c.parent_id.in_(sorted(rows)))
                                         .order_by(ct.c.parent_id, ct.c.idx)).mappings()
                    for line in lines:
                        rows[line["parent_id"]][f.name].append(plain(line))
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
            shape, params = lists.kept_shape(self, entity, filters, sort, fields)
        if shape is not None:  # the common case, built once: see lists.kept_shape
            params["_limit"] = limit + 1
            with reading(self.site.engine) as conn:
                rows = run_kept(conn, shape.statement, params)
            self._note_read(entity, rows)
            return lists.page_of(rows, limit, shape.key_labels)
        compiler = lists.compiler_for(self, entity)
        conditions = lists.conditions(self, compiler, entity, filters, search)
        query, keys, key_labels = lists.list_query(self, compiler, entity, sort, fields)
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
        return lists.page_of(rows, limit, key_labels)

    def count(self, entity_name: str, *, filters: Any = None, search: str | None = None,
              cap: int = 10_000) -> Count:
        """How many records match, counting at most ``cap`` (never a full scan per page)."""
        entity = self._entity(entity_name)
        self.policy.check(self.actor, entity, "read", None)
        compiler = lists.compiler_for(self, entity)
        conditions = lists.conditions(self, compiler, entity, filters, search)
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
            audit.flush(tx, self.tables["yiti_audit"])
        with reading(self.site.engine) as conn:
            rows = conn.execute(
                select(audit_table).where(audit_table.c.entity == entity_name,
                                          audit_table.c.record_id == record["id"])
                .order_by(audit_table.c.id)
            ).mappings().all()
        readable = self.policy.readable(self.actor, self._entity(entity_name))
        out = []
        for row in rows:
            item = plain(row)
            if readable is not None:
                item["changes"] = {k: v for k, v in item["changes"].items() if k in readable}
            out.append(item)
        return out

    # -- writes -------------------------------------------------------------------

    def create(self, entity_name: str, values: Mapping[str, Any]) -> Record:
        """Validate and save a new record with its lines; returns it as stored."""
        entity = self._entity(entity_name, writable=True)
        with transaction(self.site.engine) as tx:
            values = lookups.looked_up(self, tx, entity, values, "create")
            self.policy.check(self.actor, entity, "create", values)
            access.refuse_unwritable(self, entity, values, None)
            return self._insert(tx, entity, with_defaults(self, entity, values),
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
                    values = lookups.looked_up(self, tx, entity, values, "create")
                    self.policy.check(self.actor, entity, "create", values)
                except Forbidden as error:
                    raise Forbidden(f"rows[{i}]: {error.message}", **error.details) from None
                checked.append(values)
                try:
                    if not accepted.issuperset(values):
                        access.refuse_unwritable(self, entity, values, None)
                        accepted.update(values)
                except ValidationError as error:
                    refused[i] = error.problems
                    docs.append({})
                    continue
                docs.append(with_defaults(self, entity, values))
            refused.update(prepare_many(self, tx, entity, docs, skip=set(refused)))
            if refused:
                raise ValidationError([FieldProblem(f"rows[{i}].{p.field}", p.message, p.code)
                                       for i in sorted(refused) for p in refused[i]],
                                      entity=entity.name)
            try:
                return writes.write_new(self, tx, entity, docs, checked=checked)
            except ValidationError as error:
                raise writes.unique_rows(self, tx, entity, docs, error) from None

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
            seen = writes.loaded(tx).get((entity.table_name, _id_of(ident)))
            if seen is None or seen["version"] != _id_of(version):
                seen = self._load(tx.conn, entity, ident)
            old = self._present(entity, seen, hide=False)
            self.policy.check(self.actor, entity, "write", old)
            values = lookups.looked_up(self, tx, entity, values, "write")
            access.refuse_unwritable(self, entity, values, old)
            self._expect(entity, old, version)
            if entity.submittable and old["docstatus"] != "draft":
                raise Conflict(f"{title(entity, old)} is {old['docstatus']}; "
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
                        and line.get("id") in stored
                        else child_defaults(child, line, self.site.settings.timezone)
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
                raise Conflict(f"{title(entity, old)} is submitted; cancel it first",
                               record=old["id"])
            hooks.run(self, entity, "before_delete", old, old)
            for child, lines in line_links.removed_lines(self.model, entity, old):
                line_links.refuse_removal(self, tx, child, old, lines)
            t = self.tables[entity.table_name]
            try:
                with tx.conn.begin_nested():
                    done = tx.conn.execute(delete(t).where(t.c.id == old["id"],
                                                           t.c.version == old["version"]))
            except IntegrityError:
                raise Conflict(f"{title(entity, old)} is still used by other records",
                               record=old["id"]) from None
            if done.rowcount != 1:
                raise stale(entity, old)
            seen = links.seen(tx)
            seen.discard((t.name, old["id"]))
            for f in entity.table_fields:  # its lines went with it
                child = self.model.entities[f.target or ""].table_name
                seen.difference_update((child, line["id"]) for line in old.get(f.name) or [])
            writes.loaded(tx).pop((t.name, old["id"]), None)
            audit.add(self, tx, entity, "delete", [(old["id"], None, old, None)])
            writes.wrote(tx)
            hooks.run(self, entity, "after_delete", old, old)

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
            event = None
            if docstatus and entity.submittable and docstatus != old["docstatus"]:
                event = {"submitted": "on_submit", "cancelled": "on_cancel"}.get(docstatus)
            else:
                docstatus = None
            return self._save_existing(tx, entity, old, doc, action, docstatus=docstatus,
                                       event=event)

    def amend(self, entity_name: str, ident: int | str) -> Record:
        """A new draft copied from a cancelled record, linked to it by ``amended_from``."""
        entity = self._entity(entity_name, writable=True)
        with transaction(self.site.engine) as tx:
            old = self._present(entity, self._load(tx.conn, entity, ident), hide=False)
            self.policy.check(self.actor, entity, "create", old)
            if old.get("docstatus") != "cancelled":
                raise Conflict(f"only a cancelled record can be amended; "
                               f"{title(entity, old)} is {old.get('docstatus')}")
            values = {k: copy_value(old[k]) for k in entity.fields
                      if not entity.fields[k].formula}
            for f in entity.table_fields:
                values[f.name] = [{k: v for k, v in line.items() if k not in ("id", "idx")}
                                  for line in values.get(f.name) or []]
            t = self.tables[entity.table_name]
            base = re.sub(r"-\d+$", "", old["name"]) if old.get("amended_from") else old["name"]
            n = tx.conn.execute(select(func.count()).where(
                t.c.name.like(f"{base}-%"), t.c.amended_from.is_not(None))).scalar_one()
            doc = with_defaults(self, entity, values)
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
        return counters.adjust(self, entity, changes)

    def defaults(self, entity_name: str) -> Record:
        """A new record's values before the user types anything (for blank forms)."""
        entity = self._entity(entity_name)
        return with_defaults(self, entity, {})

    # -- files --------------------------------------------------------------------

    def store_file(self, filename: str, content_type: str, data: bytes) -> int:
        """Keep an uploaded file outside the database; returns its id for attachment fields."""
        return files.upload(self, filename, content_type, data)

    def file_info(self, file_id: int) -> Record:
        """A file's metadata (name, type, size, hash), if the actor may read a record or
        line that holds it, or uploaded it and it is not attached yet; NotFound
        otherwise, the same whether it exists or not, so file ids leak nothing."""
        return files.info(self, file_id)

    def file_path(self, file_id: int) -> Path:
        """Where an attachment's bytes are, after the same check as :meth:`file_info`."""
        return files.path_for(self, file_id)

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
            found = run_kept(conn, statement(t, "by_id"), {"_where_id": ident})
            row = found[0] if found else None
        else:
            query = select(t).where(cond)
            if row_rule is not None:
                query = query.where(row_rule)
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(Message("%(entity)s %(id)s not found", entity=entity.label, id=ident),
                           entity=entity.name)
        record = plain(row)
        for f in entity.table_fields:
            child = self.model.entities[f.target or ""]
            lines_of = statement(self.tables[child.table_name], "lines_of")
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

    def _note_read(self, entity: Entity, rows: list[dict[str, Any]]) -> None:
        """:func:`yiti.records.links.note_seen` in the current transaction, if there is one."""
        tx = current(self.site.engine)
        if tx is not None:
            links.note_seen(self.model, tx, entity, rows)

    def _insert(self, tx: Transaction, entity: Entity, doc: dict[str, Any], *,
                checked: Mapping[str, Any], name_drawn: bool = False) -> Record:
        """Create ``doc``; ``checked``: the values the row rules passed (see
        :func:`yiti.records.access.recheck_rows`); ``name_drawn``: as
        :func:`yiti.records.writes.write_new`."""
        prepare(self, tx, entity, doc, None)
        written: list[Record] = []
        ident = writes.write_new(self, tx, entity, [doc], written=written, checked=[checked],
                                single=True, name_drawn=name_drawn)[0]
        if written:  # as stored (RETURNING), and no after_save hook wrote since
            return self._present(entity, written[0])
        return self._present(entity, self._load(tx.conn, entity, ident))

    def _save_existing(self, tx: Transaction, entity: Entity, old: Record, doc: dict[str, Any],
                       action: str, docstatus: str | None = None, *,
                       checked: tuple[str, Mapping[str, Any]] | None = None,
                       event: str | None = None) -> Record:
        """Write ``doc`` over ``old``. ``checked``: the policy's action and the values its
        row rules passed, to check again if the hooks changed what they read; None for a
        workflow's transition, whose ``by:`` decided who may take it. A submit or cancel
        moves ``docstatus`` and runs its ``event`` (``on_submit``/``on_cancel``) after the
        checks and ``validate``, before ``before_save``; every hook of it sees ``doc``'s
        new docstatus (and ``ctx.old``'s former one), so it can tell a submit from a save."""
        writes.loaded(tx).pop((entity.table_name, old["id"]), None)
        if docstatus:
            doc["docstatus"] = docstatus
        prepare(self, tx, entity, doc, old)
        if event:
            hooks.run(self, entity, event, doc, old)
        stored = writes.write_over(self, tx, entity, old, doc, action, docstatus,
                                   checked=checked)
        if stored is not None:  # as stored (RETURNING): no after_save hook wrote since
            return self._present(entity, stored)
        return self._present(entity, self._load(tx.conn, entity, old["id"]))

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
                raise Conflict(f"{title(entity, old)} is {old['docstatus']}; "
                               f"only a {source} record can be {target}", record=old["id"])
            return self._save_existing(tx, entity, old, copy_value(old), action,
                                       docstatus=target, checked=(action, old), event=event)

    def _expect(self, entity: Entity, old: Record, version: Any) -> None:
        if version is None:
            return
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise ValidationError([FieldProblem("version", "must be a whole number")]) from None
        if version != old["version"]:
            raise stale(entity, old)


def _id_of(ident: int | str | None) -> int | None:
    """``ident`` (an id or a version) as a number, or None (a name, nothing)."""
    if isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit()):
        return int(ident)
    return None

