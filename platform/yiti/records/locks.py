"""Row locks: make concurrent writers of one record take turns.

:func:`lock` is the one way the engine locks a record's row: the workflow engine takes
it before an action (:meth:`yiti.workflow.engine.Workflows.act`) and pack code takes it
through :func:`yiti.api.lock` (a receipt making the purchase orders it fills take turns).

PostgreSQL: ``SELECT ... FOR UPDATE`` on the row, held until the transaction ends; a
second transaction locking the same row waits for the first to commit or roll back, then
reads what it committed. SQLite: every write transaction is ``BEGIN IMMEDIATE`` (see
:mod:`yiti.db`), so a transaction that writes is already the only writer of the whole
database; the statement is the same and the lock is implied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yiti.records.transaction import current

if TYPE_CHECKING:
    from yiti.records.service import Records


class NoTransaction(RuntimeError):
    """:func:`lock` called outside a transaction: the lock would end at once."""


def lock(records: Records, entity: str, ident: int | str) -> dict[str, Any]:
    """Lock the row of record ``ident`` (an id or a name) of ``entity`` until the current
    transaction ends, and return the record as now committed (re-read when another
    transaction changed it while this one waited).

    The record is read as ``records``' actor first: one they may not read is
    :class:`~yiti.errors.NotFound`, as :meth:`Records.get` answers, and is never locked.
    A record deleted while this one waited is :class:`~yiti.errors.NotFound` too. Raises
    :class:`NoTransaction` outside a transaction (a hook, an action, a transactional job
    and a pack endpoint run in one).
    """
    site = records.site
    tx = current(site.engine)
    if tx is None:
        raise NoTransaction(
            f"lock({entity!r}, {ident!r}) needs a transaction to hold the lock until it "
            "ends: call it from a hook, an action or a pack endpoint, or inside "
            "`with yiti.records.transaction.transaction(site.engine):`")
    record = records.get(entity, ident)
    table = site.tables[site.model.entities[entity].table_name]
    version = tx.conn.execute(select(table.c.version).where(
        table.c.id == record["id"]).with_for_update()).scalar()
    if version != record["version"]:
        return records.get(entity, record["id"])  # changed (or deleted) while we waited
    return record


__all__ = ["NoTransaction", "lock"]
