"""Links to a line of a document (a link to a child entity, with ``within``).

Such a link holds the line's id; ``within`` names the link field holding the document
the line must belong to (see docs/definitions.md, "Links to a line"). A line is read
through its document: a line whose document the actor may not read is treated as one
that does not exist, in the refusals and in the titles, so nothing about it leaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from yiti.definitions.model import Entity, Field, Model, label_text
from yiti.errors import Conflict, FieldProblem, Forbidden, NotFound
from yiti.records import access
from yiti.records.transaction import Transaction

if TYPE_CHECKING:
    from yiti.records.service import Record, Records

#: A line link found in a record: (row in a batch, field path, field, line id, document id).
Wanted = tuple[int, str, Field, Any, Any]


def has_line_links(model: Model, entity: Entity) -> bool:
    """Whether ``entity`` or its lines (one level down) have a link to a line."""
    return any(f.is_line_link for f in entity.fields.values()) or any(
        f.is_line_link for t in entity.table_fields
        for f in model.entities[t.target or ""].fields.values())


def problems(records: Records, tx: Transaction, entity: Entity,
             docs: list[Mapping[str, Any]], skip: set[int] = frozenset(),  # type: ignore[assignment]
             old: Mapping[str, Any] | None = None) -> dict[int, list[FieldProblem]]:
    """The refused line links of each of ``docs`` (by index), at their fields: a line
    that does not exist or whose document the actor may not read, a line of another
    document than the ``within`` field names, or a line without that document. Pairs
    (line, document) the stored record ``old`` holds already are not checked again."""
    wanted: list[Wanted] = []
    for i, doc in enumerate(docs):
        if i not in skip:
            wanted += _wanted(records.model, entity, doc, i)
    if old is not None and wanted:
        held = {(f.name, line, document) for _, _, f, line, document
                in _wanted(records.model, entity, old, 0)}
        wanted = [w for w in wanted if (w[2].name, w[3], w[4]) not in held]
    out: dict[int, list[FieldProblem]] = {}
    if not wanted:
        return out
    model = records.model
    by_child: dict[str, set[Any]] = {}
    for _, _, f, line, document in wanted:
        if document is not None and isinstance(line, int):
            by_child.setdefault(f.target or "", set()).add(line)
    lines: dict[tuple[str, Any], Mapping[str, Any]] = {}
    documents: dict[str, set[Any]] = {}
    for child, ids in by_child.items():
        ct = records.tables[model.entities[child].table_name]
        for row in tx.conn.execute(select(ct.c.id, ct.c.parent_id, ct.c.idx)
                                   .where(ct.c.id.in_(sorted(ids)))).mappings():
            lines[(child, row["id"])] = row
            documents.setdefault(model.entities[child].parent or "", set()).add(
                row["parent_id"])
    for _, _, f, _, document in wanted:
        if isinstance(document, int):
            parent = model.entities[f.target or ""].parent or ""
            documents.setdefault(parent, set()).add(document)
    readable = {name: readable_documents(records, tx.conn, model.entities[name], ids)
                for name, ids in documents.items()}
    for i, path, f, line, document in wanted:
        child = model.entities[f.target or ""]
        parent = model.entities[child.parent or ""]
        if document is None:
            problem = f"choose the {label_text(parent.label).lower()} first"
        else:
            row = lines.get((child.name, line))
            if row is None or row["parent_id"] not in readable[parent.name]:
                problem = f"no {child.name} with id {line}"
            elif row["parent_id"] == document:
                continue
            else:
                named = readable[parent.name].get(document, {}).get("name")
                problem = (f"line {line} is not a line of "
                           f"{named or f'{label_text(parent.label)} {document}'}")
        out.setdefault(i, []).append(FieldProblem(path, problem, "link"))
    return out


def readable_documents(records: Records, conn: Connection, document: Entity,
                       ids: Iterable[Any]) -> dict[Any, Mapping[str, Any]]:
    """id → row of the documents among ``ids`` the actor may read (their lines not
    loaded): the policy's row filter, then its check of each row."""
    wanted = sorted({i for i in ids if isinstance(i, int)})
    if not wanted:
        return {}
    out: dict[Any, Mapping[str, Any]] = {}
    for row in conn.execute(access.readable_by_id(records, document, wanted)).mappings():
        try:
            records.policy.check(records.actor, document, "read", row)
        except (Forbidden, NotFound):
            continue
        out[row["id"]] = dict(row)
    return out


def titles(records: Records, conn: Connection, child: Entity, ids: Iterable[Any]
           ) -> dict[Any, str]:
    """id → title of the lines among ``ids`` whose document the actor may read: the
    document's name, the line's position and its title field when it has one
    (``PO-2026-0003 #2 · SKU-1 Shirt``; a title field that is a link shows the linked
    record's name and title, when the actor may read it)."""
    wanted = sorted({int(i) for i in ids if i is not None and str(i).isdigit()})
    if not wanted or child.parent is None:
        return {}
    model = records.model
    ct = records.tables[child.table_name]
    columns = [ct.c.id, ct.c.parent_id, ct.c.idx]
    tf = child.fields.get(child.title_field or "")
    if tf is not None and tf.stored:
        columns.append(ct.c[tf.name])
    rows = list(conn.execute(select(*columns).where(ct.c.id.in_(wanted))).mappings())
    documents = readable_documents(records, conn, model.entities[child.parent],
                                   [r["parent_id"] for r in rows])
    shown: dict[Any, str] = {}
    if tf is not None and tf.is_link and tf.target:
        shown = _linked_names(records, model.entities[tf.target],
                              [r[tf.name] for r in rows])
    out: dict[Any, str] = {}
    for row in rows:
        document = documents.get(row["parent_id"])
        if document is None:
            continue
        title = f"{document.get('name') or '#' + str(row['parent_id'])} #{row['idx']}"
        value = row.get(tf.name) if tf is not None and tf.stored else None
        if value is not None:
            value = shown.get(value) if tf is not None and tf.is_link else str(value)
        if value:
            title += f" · {value}"
        out[row["id"]] = title
    return out


def _linked_names(records: Records, target: Entity, ids: Iterable[Any]) -> dict[Any, str]:
    """id → "name title" of the records among ``ids`` the actor may read."""
    wanted = sorted({i for i in ids if isinstance(i, int)})
    if not wanted or target.child:
        return {}
    fields = ["id", "name"] + ([target.title_field] if target.title_field else [])
    page = records.list(target.name, filters=[("id", "in", wanted)], fields=fields,
                        limit=len(wanted))
    out = {}
    for row in page.rows:
        title = row.get(target.title_field) if target.title_field else None
        parts = [str(p) for p in (row.get("name"), title) if p not in (None, "")]
        out[row["id"]] = " ".join(dict.fromkeys(parts))
    return out


def refuse_removal(records: Records, tx: Transaction, child: Entity, document: Mapping[str, Any],
                   lines: list[Mapping[str, Any]]) -> None:
    """Refuse (409) removing ``lines`` of ``document`` that a record links to with a
    restricting link, naming the first such line and the record linking to it. Links
    that empty themselves or delete along (``on_delete``) are left to the database."""
    if not lines:
        return
    by_id = {line["id"]: line for line in lines}
    model = records.model
    for holder, f in _links_to(model, child):
        ht = records.tables[holder.table_name]
        query = select(ht.c.id, ht.c[f.name]).where(ht.c[f.name].in_(sorted(by_id)))
        if holder.child:
            query = select(ht.c.id, ht.c[f.name], ht.c.parent_id).where(
                ht.c[f.name].in_(sorted(by_id)))
        found = tx.conn.execute(query.limit(1)).mappings().first()
        if found is None:
            continue
        line = by_id[found[f.name]]
        where = holder
        ident = found["id"]
        if holder.child:
            where = model.entities[holder.parent or ""]
            ident = found["parent_id"]
        wt = records.tables[where.table_name]
        name = tx.conn.execute(select(wt.c.name).where(wt.c.id == ident)).scalar()
        raise Conflict(
            f"line {line.get('idx')} of {document.get('name') or document.get('id')} "
            f"(id {line['id']}) is linked from {label_text(where.label)} {name or ident}; "
            "remove that link first", record=document.get("id"))


def _links_to(model: Model, child: Entity) -> Iterator[tuple[Entity, Field]]:
    """Each restricting link to lines of ``child``, with the entity that has it."""
    for entity in model.entities.values():
        for f in entity.fields.values():
            if f.is_line_link and f.target == child.name and f.on_delete == "restrict":
                yield entity, f


def _wanted(model: Model, entity: Entity, doc: Mapping[str, Any], row: int) -> list[Wanted]:
    """The line links of ``doc`` and its lines that have a value, with the document
    each must belong to (None when its ``within`` field is empty)."""
    out: list[Wanted] = []
    for f in entity.fields.values():
        if f.is_line_link and doc.get(f.name) is not None:
            out.append((row, f.name, f, doc[f.name], doc.get(f.within or "")))
    for t in entity.table_fields:
        child = model.entities[t.target or ""]
        links = [f for f in child.fields.values() if f.is_line_link]
        if not links:
            continue
        for i, line in enumerate(doc.get(t.name) or []):
            for f in links:
                if line.get(f.name) is None:
                    continue
                holder = doc if f.within_parent else line
                out.append((row, f"{t.name}[{i}].{f.name}", f, line[f.name],
                            holder.get(f.within or "")))
    return out


def removed_lines(model: Model, entity: Entity, old: Record) -> Iterator[tuple[Entity, list[Any]]]:
    """Each child entity of ``entity`` with the lines ``old`` holds (all of them go when
    the document is deleted)."""
    for t in entity.table_fields:
        yield model.entities[t.target or ""], list(old.get(t.name) or [])


def lines_of(records: Records, conn: Connection, child: Entity, document: Any,
             search: str = "", limit: int = 20) -> list[tuple[Any, str]]:
    """(id, title) of the lines of ``child`` in ``document`` (an id) whose titles hold
    ``search`` (any case), in their order; none when the actor may not read the
    document: what a picker of a link to a line offers."""
    if not str(document).isdigit() or child.parent is None:
        return []
    ct = records.tables[child.table_name]
    ids = list(conn.execute(select(ct.c.id).where(ct.c.parent_id == int(document))
                            .order_by(ct.c.idx)).scalars())
    named = titles(records, conn, child, ids)
    wanted = search.casefold()
    found = [(i, named[i]) for i in ids if i in named and wanted in named[i].casefold()]
    return found[:limit]
