"""Links and attachments checked before a write: each must name a row that exists.

A transaction remembers the rows it has seen exist (:func:`seen`): those it inserted,
read through the service, or found linked from a row it read. A link to one of them
needs no query; the others are looked up together, one query for a record and all its
lines, or for a whole batch of :meth:`yiti.records.service.Records.create_many`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, literal, select, union_all

from yiti.db import kept_statement, run_kept
from yiti.definitions.model import Entity, Model
from yiti.errors import FieldProblem, ValidationError
from yiti.messages import Message
from yiti.records import files
from yiti.records.query import in_list
from yiti.records.transaction import Transaction

if TYPE_CHECKING:
    from yiti.records.service import Record, Records

#: Ids per query when create_many checks that its records' links exist.
LINK_CHUNK = 5000

_SEEN = "yiti.records.seen"

#: A link found in a record: (its row in a batch, field path, what it names, table, id).
Link = tuple[int, str, str, str, Any]


def seen(tx: Transaction) -> set[tuple[str, Any]]:
    """(table, id) of the rows ``tx`` inserted, read through the service or found linked
    from a row it read, and has not deleted: rows that existed in this transaction, whose
    links need no lookup (see :func:`check`)."""
    return tx.state.setdefault(_SEEN, set())  # type: ignore[return-value]


def note_seen(model: Model, tx: Transaction, entity: Entity,
              rows: Iterable[Mapping[str, Any]]) -> None:
    """Note the rows read in ``tx`` (with their lines, when there) and the rows their
    links name, which existed when read (see :func:`seen`)."""
    known = seen(tx)
    links = [(f.name, model.entities[f.target or ""].table_name)
             for f in entity.fields.values() if f.type == "link"]
    for row in rows:
        known.add((entity.table_name, row["id"]))
        for name, target in links:
            value = row.get(name)
            if value is not None:
                known.add((target, value))
        for f in entity.table_fields:
            lines = row.get(f.name)
            if lines:
                note_seen(model, tx, model.entities[f.target or ""], lines)


def check(records: Records, tx: Transaction, entity: Entity, doc: Mapping[str, Any],
          old: Record | None = None) -> None:
    """Refuse links (and attachments) to rows that don't exist, each at its field.

    One query for the record and all its lines, whatever the number of links; none
    for rows the stored record (``old``) links to already, which its foreign keys
    keep in place, nor (:func:`_existing`) for rows this transaction has seen. A row
    seen is as sure to exist as one looked up here: either may be deleted by another
    transaction before this one commits, and then the foreign key refuses the write
    (a :class:`~yiti.errors.Conflict`)."""
    wanted: list[Link] = []
    _links_in(records.model, entity, doc, "", 0, wanted)
    if old is not None and wanted:
        stored: list[Link] = []
        _links_in(records.model, entity, old, "", 0, stored)
        held = {(table, value) for _, _, _, table, value in stored}
        wanted = [w for w in wanted if (w[3], w[4]) not in held]
    if not wanted:
        return
    found = _found(records, tx, wanted)
    problems = [FieldProblem(path, _no_such(what, value), "link")
                for _, path, what, table, value in wanted if (table, value) not in found]
    if problems:
        raise ValidationError(problems, entity=entity.name)


def missing(records: Records, tx: Transaction, entity: Entity, docs: list[dict[str, Any]],
            skip: set[int]) -> Iterator[tuple[int, list[FieldProblem]]]:
    """Each row (not in ``skip``) with links to rows that don't exist, and the
    problems, each at its field (``lines[2].item``); one query for all
    rows (:func:`_existing`)."""
    wanted: list[Link] = []
    for i, doc in enumerate(docs):
        if i not in skip:
            _links_in(records.model, entity, doc, "", i, wanted)
    if not wanted:
        return
    found = _found(records, tx, wanted)
    by_row: dict[int, list[FieldProblem]] = {}
    for i, path, what, table, ident in wanted:
        if (table, ident) not in found:
            by_row.setdefault(i, []).append(FieldProblem(path, _no_such(what, ident), "link"))
    yield from sorted(by_row.items())


def _found(records: Records, tx: Transaction, wanted: list[Link]) -> set[tuple[str, Any]]:
    """Which rows the links of ``wanted`` name may be linked to, as (table, id): rows that
    exist (:func:`_existing`), but no file the actor may not attach (refused as if
    missing)."""
    by_table: dict[str, set[Any]] = {}
    for _, _, _, table, ident in wanted:
        by_table.setdefault(table, set()).add(ident)
    return _existing(records, tx, by_table) - files.foreign(records,
                                                            by_table.get("yiti_file", set()))


def _existing(records: Records, tx: Transaction, ids: Mapping[str, set[Any]]
              ) -> set[tuple[str, Any]]:
    """Which of ``ids`` (by table name) exist, as (table, id). Rows this transaction has
    seen (:func:`seen`) need no lookup; the others take one query for all tables (a
    ``UNION ALL``, built once per set of tables), in chunks of :data:`LINK_CHUNK` ids,
    and those found are seen from then on."""
    known = seen(tx)
    found = {(n, i) for n, values in ids.items() for i in values if (n, i) in known}
    ids = {n: unseen for n, values in ids.items()
           if (unseen := {i for i in values if (n, i) not in known})}
    if not ids:
        return found
    names = tuple(sorted(ids))
    tables = records.tables
    arrays = records._arrays

    def build(_: Any) -> Any:
        parts = [select(literal(i, Integer).label("t"), tables[n].c.id.label("id"))
                 .where(in_list(tables[n].c.id, f"ids_{i}", arrays=arrays))
                 for i, n in enumerate(names)]
        return parts[0] if len(parts) == 1 else union_all(*parts)

    query = kept_statement(tables[names[0]], ("exists", names, arrays), build)
    ordered_ids = [sorted(ids[n]) for n in names]
    looked_up: set[tuple[str, Any]] = set()
    for start in range(0, max(len(chunk) for chunk in ordered_ids), LINK_CHUNK):
        params = {f"ids_{i}": chunk[start:start + LINK_CHUNK]
                  for i, chunk in enumerate(ordered_ids)}
        looked_up.update((names[row["t"]], row["id"])
                         for row in run_kept(tx.conn, query, params))
    known.update(looked_up)
    return found | looked_up


def _links_in(model: Model, entity: Entity, doc: Mapping[str, Any], prefix: str, row: int,
              out: list[Link]) -> None:
    """Append to ``out`` each link and attachment of ``doc`` and its lines that has a
    value, at its path under ``prefix``; ``row``: the doc's place in a batch (0 for
    one record)."""
    for f in entity.fields.values():
        if f.is_table:
            child = model.entities[f.target or ""]
            for i, line in enumerate(doc.get(f.name) or []):
                _links_in(model, child, line, f"{prefix}{f.name}[{i}].", row, out)
            continue
        value = doc.get(f.name)
        if value is None or f.type not in ("link", "attachment"):
            continue
        if f.type == "attachment":
            out.append((row, f"{prefix}{f.name}", "file", "yiti_file", value))
        else:
            target = model.entities[f.target or ""]
            out.append((row, f"{prefix}{f.name}", target.name, target.table_name, value))


def _no_such(what: str, ident: Any) -> str:
    """A link's refusal; for a file the same whether it is missing or someone else's."""
    if what == "file":
        return Message("no file with id %(id)s that you uploaded or may read", id=ident)
    return Message("no %(what)s with id %(id)s", what=what, id=ident)
