"""The audit trail: who changed what, when, field by field, child lines included."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert

from yiti.db import kept_statement, run_kept
from yiti.definitions.model import Entity, Model
from yiti.records import bulk
from yiti.records.transaction import Transaction
from yiti.values import to_json

if TYPE_CHECKING:
    from yiti.records.service import Records

_AUDIT = "yiti.records.audit"

#: A change to audit: (record id, version after it, values before, values after).
Change = tuple[int, int | None, Mapping[str, Any] | None, Mapping[str, Any] | None]


def add(records: Records, tx: Transaction, entity: Entity, action: str,
        entries: list[Change]) -> None:
    """Audit rows are gathered in the transaction and written together just before
    it commits (one statement, or COPY for many), so a rolled-back transaction leaves
    none and a unit of work of many operations pays for one insert."""
    now = dt.datetime.now(dt.UTC)
    rows = [{
        "entity": entity.name, "record_id": ident, "action": action,
        "user": records.actor.name, "at": now, "version": version,
        "changes": changes(records.model, entity, old, new)
        if entity.track_changes else {},
    } for ident, version, old, new in entries]
    pending = tx.state.get(_AUDIT)
    if not isinstance(pending, list):
        pending = tx.state[_AUDIT] = []
        table = records.tables["yiti_audit"]
        tx.before_commit.append(lambda: flush(tx, table, with_commit=True))
    pending.extend(rows)


def flush(tx: Transaction, table: Any, *, with_commit: bool = False) -> None:
    """Write the audit rows gathered in ``tx`` so far to ``table``; ``with_commit``: as one
    of the writes sent with the COMMIT, when they fit one statement."""
    rows = tx.state.pop(_AUDIT, None)
    if not isinstance(rows, list) or not rows:
        return
    # Many rows: COPY on PostgreSQL, one executemany of converted tuples on SQLite,
    # with the values they share (time, user, entity) converted once.
    if len(rows) > 1 and (tx.conn.dialect.name != "postgresql"
                          or len(rows) >= bulk.COPY_THRESHOLD):
        bulk.write_rows(tx.conn, table, rows)
        return
    # one statement of len(rows) VALUES, built once for each count
    names = tuple(rows[0])
    statement = kept_statement(table, ("insert_values", len(rows), names),
                               functools.partial(_insert_values, len(rows), names))
    params = {f"{name}_{i}": row[name] for i, row in enumerate(rows) for name in names}
    if with_commit:
        tx.with_commit.append((statement, params))
    else:
        run_kept(tx.conn, statement, params)


def _insert_values(count: int, names: tuple[str, ...], t: Any) -> Any:
    """``INSERT INTO t (names) VALUES (...), (...)`` for ``count`` rows, each value a
    bind parameter ``<name>_<row>``."""
    return insert(t).values([{name: bindparam(f"{name}_{i}", type_=t.c[name].type)
                              for name in names} for i in range(count)])


def changes(model: Model, entity: Entity, old: Mapping[str, Any] | None,
            new: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{field: [before, after]}`` for plain fields; for table fields
    ``{"added": [...], "removed": [...], "changed": [{"id", "changes"}]}``."""
    old = old or {}
    new = new or {}
    out: dict[str, Any] = {}
    for f in entity.fields.values():
        if f.is_table:
            child = model.entities[f.target or ""]
            before = {line["id"]: line for line in old.get(f.name) or [] if line.get("id")}
            after = new.get(f.name) or []
            after_ids = {line.get("id") for line in after}
            part: dict[str, Any] = {}
            added = [_line_json(child, x) for x in after if x.get("id") not in before]
            removed = [_line_json(child, x) for i, x in before.items() if i not in after_ids]
            changed = []
            for line in after:
                prev = before.get(line.get("id"))
                if prev is not None:
                    diff = changes(model, child, prev, line)
                    if diff:
                        changed.append({"id": line["id"], "changes": diff})
            if added:
                part["added"] = added
            if removed:
                part["removed"] = removed
            if changed:
                part["changed"] = changed
            if part:
                out[f.name] = part
            continue
        a, b = old.get(f.name), new.get(f.name)
        if a != b:
            out[f.name] = [to_json(a), to_json(b)]
    return out


def _line_json(entity: Entity, line: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: to_json(line.get(k)) for k in entity.fields if line.get(k) is not None}
    if line.get("id"):
        data["id"] = line["id"]
    return data
