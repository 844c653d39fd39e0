"""Writing records and their lines: names drawn, rows inserted or updated, refusals.

The service checks a record first (:mod:`yiti.records.prepare`); what is here runs the
``before_save`` and ``after_save`` hooks around the statements, turns a unique index's
or foreign key's refusal into an error naming the field, and audits the write.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from yiti.db import run_kept
from yiti.definitions.model import Entity, label_text
from yiti.errors import Conflict, FieldProblem, ValidationError
from yiti.messages import Message
from yiti.records import audit, bulk, hooks, line_links, naming
from yiti.records.access import recheck_rows
from yiti.records.links import LINK_CHUNK, seen
from yiti.records.statements import statement
from yiti.records.transaction import Transaction
from yiti.schema.tables import short_name

if TYPE_CHECKING:
    from yiti.records.service import Record, Records

UTC = dt.UTC

_WRITES = "yiti.records.writes"
_LOADED = "yiti.records.loaded"


def wrote(tx: Transaction) -> int:
    """Count a write of a record in ``tx``; the count so far."""
    n = int(tx.state.get(_WRITES, 0)) + 1  # type: ignore[call-overload]
    tx.state[_WRITES] = n
    return n


def write_count(tx: Transaction) -> int:
    """How many records were written in ``tx`` so far (see :func:`wrote`)."""
    return int(tx.state.get(_WRITES, 0))  # type: ignore[call-overload]


def loaded(tx: Transaction) -> dict[tuple[str, Any], Record]:
    """The records ``get`` read in ``tx`` as stored, by (table, id); a write to one
    through the service forgets it."""
    return tx.state.setdefault(_LOADED, {})  # type: ignore[return-value]


def write_new(records: Records, tx: Transaction, entity: Entity, docs: list[dict[str, Any]], *,
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
                                       timezone=records.site.settings.timezone)[0]
                     for d in docs]
        else:
            names = naming.next_names(tx.conn, tx.engine, entity, {}, len(docs),
                                      timezone=records.site.settings.timezone)
        for doc, name in zip(docs, names, strict=True):
            doc.setdefault("name", None)
            if not doc["name"]:
                doc["name"] = name
    elif entity.naming.field:
        for doc in docs:
            doc["name"] = str(doc.get(entity.naming.field) or "") or None
    for doc in docs:
        hooks.run(records, entity, "before_save", doc, None)
    recheck_rows(records, entity, "create", docs, checked, single=single)
    t = records.tables[entity.table_name]
    rows = [_row(records, entity, doc, now, version=1) for doc in docs]
    stored: Record | None = None
    try:
        with _guarded(records, tx, entity, docs, names=chosen or bool(entity.naming.field)):
            if written is not None and len(rows) == 1:
                stored = run_kept(tx.conn, statement(t, "insert"), rows[0])[0]
                ids = [stored["id"]]
            else:
                ids = _insert_rows(tx, t, rows)
            for ident, doc in zip(ids, docs, strict=True):
                doc["id"] = ident
                lines = _write_lines(records, tx, entity, doc, None, now)
                if stored is not None:
                    stored.update(lines)
    except IntegrityError as error:
        sent = None if name_drawn else entity.naming.field or ("name" if chosen else None)
        raise _integrity(entity, error, name_from=sent) from None
    seen(tx).update((t.name, ident) for ident in ids)
    audit.add(records, tx, entity, "create", [(ident, 1, None, doc)
                                              for ident, doc in zip(ids, docs, strict=True)])
    count = wrote(tx)
    for doc in docs:
        hooks.run(records, entity, "after_save", doc, None)
    if stored is not None and written is not None and write_count(tx) == count:
        written.append(stored)
    return ids


def _insert_rows(tx: Transaction, t: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows``; their ids, in order."""
    if len(rows) == 1:
        return [run_kept(tx.conn, statement(t, "insert_id"), rows[0])[0]["id"]]
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


def write_over(records: Records, tx: Transaction, entity: Entity, old: Record,
               doc: dict[str, Any], action: str, docstatus: str | None = None, *,
               checked: tuple[str, Mapping[str, Any]] | None = None) -> Record | None:
    """Write ``doc`` (prepared) over ``old``; the record as stored (RETURNING), or None
    when an after_save hook wrote since. ``checked``: the policy's action and the values
    its row rules passed, to check again if the hooks changed what they read; None for
    a workflow's transition, whose ``by:`` decided who may take it."""
    hooks.run(records, entity, "before_save", doc, old)
    if checked is not None:
        recheck_rows(records, entity, checked[0], [doc], [checked[1]], single=True)
    now = dt.datetime.now(UTC)
    t = records.tables[entity.table_name]
    row = _row(records, entity, doc, now, version=old["version"] + 1, creating=False)
    if docstatus:
        row["docstatus"] = docstatus
    try:
        with _guarded(records, tx, entity, [doc], old=old):
            done = run_kept(tx.conn, statement(t, "update_version"), {
                **row, "_where_id": old["id"], "_where_version": old["version"],
            })
            if not done:
                raise stale(entity, old)
            stored = {**done[0], **_write_lines(records, tx, entity, doc, old, now)}
    except IntegrityError as error:
        raise _integrity(entity, error) from None
    audit.add(records, tx, entity, action, [(old["id"], row["version"], old, doc)])
    count = wrote(tx)
    hooks.run(records, entity, "after_save", doc, old)
    return stored if write_count(tx) == count else None


def _guarded(records: Records, tx: Transaction, entity: Entity,
             docs: Sequence[Mapping[str, Any]], *, old: Record | None = None,
             names: bool = False) -> AbstractContextManager[Any]:
    """A savepoint around a write that a unique index may refuse, so that a hook may
    catch the refusal and go on in the same transaction: when a unique field or
    combination of the record (other than as stored in ``old``) or of its lines has
    all its values, or with ``names``, when a record's name was given rather than
    drawn from the series. Other writes save the savepoint's two round trips: all
    they could fail was checked before, except a linked row deleted meanwhile, which
    fails the transaction."""
    if any(_may_collide(records, entity, doc, old, names=names) for doc in docs):
        return tx.conn.begin_nested()
    return nullcontext()


def _may_collide(records: Records, entity: Entity, doc: Mapping[str, Any],
                 old: Record | None, *, names: bool) -> bool:
    if names and doc.get("name"):
        return True
    keys = [(f.name,) for f in entity.stored_fields if f.unique]
    for key in [*keys, *entity.unique_together]:
        if all(doc.get(k) is not None for k in key) and (
                old is None or any(doc.get(k) != old.get(k) for k in key)):
            return True
    return any(_may_collide(records, records.model.entities[f.target or ""], line, None,
                            names=False)
               for f in entity.table_fields for line in doc.get(f.name) or [])


def _row(records: Records, entity: Entity, doc: Mapping[str, Any], now: dt.datetime, *,
         version: int, creating: bool = True) -> dict[str, Any]:
    row = {f.name: doc.get(f.name) for f in entity.stored_fields}
    row.update(version=version, modified_at=now, modified_by=records.actor.name)
    if creating:
        row.update(created_at=now, created_by=records.actor.name)
        if not entity.child:
            row["name"] = doc.get("name")
        if entity.submittable:
            row["docstatus"] = "draft"
            row["amended_from"] = doc.get("amended_from")
    return row


def _write_lines(records: Records, tx: Transaction, entity: Entity, doc: dict[str, Any],
                 old: Record | None, now: dt.datetime) -> dict[str, list[Record]]:
    """Write the lines of every table field; the lines as stored, by field."""
    out: dict[str, list[Record]] = {}
    for f in entity.table_fields:
        child = records.model.entities[f.target or ""]
        ct = records.tables[child.table_name]
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
                    stored.append(run_kept(tx.conn, statement(ct, "update_line"), {
                        **row, "idx": i, "modified_at": now,
                        "modified_by": records.actor.name, "_where_id": ident,
                    })[0])
                else:
                    stored.append(dict(prev))
                continue
            if ident is not None:
                raise ValidationError([FieldProblem(
                    f"{f.name}[{i - 1}].id", f"line {ident} is not a line of this record",
                    "unknown_line")])
            row = _row(records, child, line, now, version=1)
            row.update(parent_id=doc["id"], idx=i)
            new = run_kept(tx.conn, statement(ct, "insert"), row)[0]
            line["id"] = new["id"]
            stored.append(new)
        gone = [i for i in before if i not in keep]
        if gone:
            line_links.refuse_removal(records, tx, child, old or doc,
                                      [before[i] for i in gone])
            tx.conn.execute(delete(ct).where(ct.c.id.in_(gone)))
    return out


def title(entity: Entity, record: Mapping[str, Any]) -> str:
    """How messages name a record: its entity's label and its name (or id)."""
    name = record.get("name") or record.get("id")
    return f"{label_text(entity.label)} {name}"


def stale(entity: Entity, old: Record) -> Conflict:
    """The refusal of a write to ``old`` that someone else changed since it was read."""
    return Conflict(f"{title(entity, old)} was changed by someone else since you "
                    f"opened it; reload it and try again", record=old["id"])


def _integrity(entity: Entity, error: IntegrityError, *,
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
        message = (Message("is already used by another record") if len(key) == 1
                   else Message("the combination of %(fields)s is already used",
                                fields=", ".join(key)))
        return ValidationError([FieldProblem(key[0], message, "unique")],
                               entity=entity.name)
    return Conflict(f"the change to {label_text(entity.label)} conflicts with other "
                    "records (a linked record is missing or still in use)")


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


def unique_rows(records: Records, tx: Transaction, entity: Entity,
                docs: list[dict[str, Any]], error: ValidationError) -> ValidationError:
    """When the database refused a batch for a unique field (or combination), the
    rows at fault, for every unique field and combination: each repeating an earlier
    row's value, or a value already stored.
    Run after the batch's savepoint rolled back, on the values as written (after the
    before_save hooks); ``error`` itself when no row can be named."""
    unique = [p for p in error.problems if p.code == "unique"]
    if not unique or len(unique) != len(error.problems):
        return error
    t = records.tables[entity.table_name]
    keys = [(f.name,) for f in entity.stored_fields if f.unique]
    keys += [tuple(key) for key in entity.unique_together]
    found: list[tuple[int, FieldProblem]] = []
    for key in keys:  # all of them: the database names only the first it met
        problem = (FieldProblem(key[0], Message("is already used by another record"), "unique")
                   if len(key) == 1 else
                   FieldProblem(key[0], Message("the combination of %(fields)s is already used",
                                                fields=", ".join(key)), "unique"))
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
