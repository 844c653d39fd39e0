""""My approvals": what waits for a user, their own or delegated to them, with counts.

One query over ``yiti_workflow_task`` (open tasks assigned to the user or to a role
they hold, and the same for every user who delegated to them today); the records are
then read through the record service, so a task on a record the user may not see is
not shown (in batches: a fixed number of queries, not a few per item). :func:`count`
counts the same in SQL (with the policy's row condition), so the navigation's badge,
the inbox and the API agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, func, or_, select

from yiti.definitions.model import Entity, Model, label_text
from yiti.errors import Forbidden, NotFound
from yiti.permissions.policy import Actor
from yiti.records.titles import resolved
from yiti.records.transaction import reading
from yiti.workflow.tables import TASK

if TYPE_CHECKING:
    from yiti.records.service import Records
    from yiti.workflow.engine import Workflows

def _condition(engine: Workflows, actor: Actor,
               behalf: dict[str, frozenset[str]] | None = None) -> Any:
    t = engine.site.tables[TASK]
    if behalf is None:
        behalf = engine._behalf(actor)  # noqa: SLF001 - the same rule as acting
    parts = []
    for user, roles in behalf.items():
        parts.append(t.c.assignee == user)
        if roles:
            parts.append(t.c.role.in_(sorted(roles)))
    return and_(t.c.status == "open", or_(false(), *parts))


def count(engine: Workflows, actor: Actor) -> int:
    """How many records wait for ``actor``: the number :func:`items` lists (without its
    limit), counted in the database: open tasks of ``actor`` on records they may read
    (the policy's row condition) that are still in the task's step."""
    site = engine.site
    t = site.tables[TASK]
    condition = _condition(engine, actor)
    total = 0
    with reading(site.engine) as conn:
        names = list(conn.execute(select(t.c.entity).where(condition).distinct()).scalars())
        for name in names:
            wf = engine.by_entity.get(name)
            entity = site.model.entities.get(name)
            if wf is None or entity is None:
                continue
            try:
                site.policy.check(actor, entity, "read", None)
            except (Forbidden, NotFound):
                continue
            r = site.tables[entity.table_name]
            where = [condition, t.c.entity == name, r.c[wf.state_field] == t.c.state]
            rows = site.policy.row_filter(actor, entity, r)
            if rows is not None:
                where.append(rows)
            inner = (select(t.c.record_id).join(r, r.c.id == t.c.record_id).where(*where)
                     .distinct().subquery())
            total += int(conn.execute(select(func.count()).select_from(inner)).scalar_one())
    return total


def items(engine: Workflows, actor: Actor, *, limit: int = 100, lang: str = "en"
          ) -> list[dict[str, Any]]:
    """What waits for ``actor``, oldest first: the record, the step, since when, the
    actions they may take, and on whose behalf.

    A fixed number of queries whatever the number of items: the tasks, the delegations
    (:meth:`Workflows._behalf`, once), then per entity with waiting records the records
    (:meth:`Records.get_many`, with their lines) and their open tasks, and per entity
    that titles records by a link the linked records' titles (:func:`_titles`)."""
    t = engine.site.tables[TASK]
    behalf = engine._behalf(actor)  # noqa: SLF001
    with reading(engine.site.engine) as conn:
        rows = conn.execute(select(t).where(_condition(engine, actor, behalf))
                            .order_by(t.c.created_at, t.c.id).limit(limit * 3)).mappings().all()
    wanted: dict[str, list[int]] = {}
    for row in rows:
        if row["entity"] in engine.by_entity:
            wanted.setdefault(row["entity"], []).append(row["record_id"])
    records = engine.site.records(actor)
    found: dict[str, dict[int, dict[str, Any]]] = {}
    open_tasks: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for name, ids in wanted.items():
        try:
            found[name] = records.get_many(name, ids)
        except (Forbidden, NotFound):
            continue
        if not found[name]:
            continue
        with reading(engine.site.engine) as conn:
            for task in conn.execute(select(t).where(
                    t.c.entity == name, t.c.record_id.in_(sorted(found[name])),
                    t.c.status == "open").order_by(t.c.id)).mappings():
                open_tasks.setdefault((name, task["record_id"], task["state"]), []).append(
                    dict(task))
    titles = _titles(records, engine.site.model, found)
    seen: set[tuple[str, int]] = set()
    out: list[dict[str, Any]] = []
    for row in rows:
        key = (row["entity"], row["record_id"])
        if key in seen or len(out) >= limit:
            continue
        seen.add(key)
        wf = engine.by_entity.get(row["entity"])
        record = found.get(row["entity"], {}).get(row["record_id"])
        if wf is None or record is None:
            continue
        if record.get(wf.state_field) != row["state"]:
            continue
        entity = engine.site.model.entities[row["entity"]]
        owner = engine._holds(actor, row, behalf)  # noqa: SLF001
        tasks = open_tasks.get((row["entity"], record["id"], row["state"]), [])
        out.append({
            "entity": row["entity"], "entity_label": label_text(entity.label, lang),
            "id": record["id"], "name": record.get("name"), "version": record["version"],
            "title": titles[row["entity"]][record["id"]], "state": row["state"],
            "state_label": engine.state_label(wf, row["state"], lang),
            "waiting_since": row["created_at"], "due_at": row["due_at"],
            "on_behalf_of": owner if owner != actor.name else None,
            "actions": [{"action": tr.action, "label": label_text(tr.label, lang) or tr.action,
                         "comment": "required" if tr.comment_required else "optional",
                         "approves": tr.approves, "back": tr.target == "@back"}
                        for tr in engine.available(actor, row["entity"], record,
                                                   behalf=behalf, tasks=tasks)],
        })
    return out


def _titles(records: Records, model: Model,
            found: Mapping[str, Mapping[int, Mapping[str, Any]]]
            ) -> dict[str, dict[int, str]]:
    """entity → (id → title) of the waiting records, as every screen names their title
    (:func:`yiti.records.titles.resolved`: a title field that is a link shows the linked
    record as the record pages do, read through the reader's record service, one query
    per entity titled by a link); a record without a title is named by its name."""
    out: dict[str, dict[int, str]] = {}
    for name, rows in found.items():
        entity = model.entities[name]
        ids = list(rows)
        shown = resolved(records, entity, [rows[i] for i in ids])
        out[name] = {i: _title(entity, row) for i, row in zip(ids, shown, strict=True)}
    return out


def _title(entity: Entity, record: Mapping[str, Any]) -> str:
    """The title part of a record's name (its title field, a link there already resolved
    to text), else its name: the inbox shows the name as the link and this beside it."""
    value = record.get(entity.title_field) if entity.title_field else None
    if not isinstance(value, str):
        value = None
    return value if value else str(record.get("name") or record["id"])
