"""Attachments: the bytes live on disk by content hash, the metadata in ``yiti_file``.

Who may do what with a file (enforced by the record service):

- anyone who may write a record uploads (:func:`store`); the file is theirs;
- a write may attach a file its actor uploaded, or one held by a record the actor may
  read (copying, as ``amend`` does); any other id is refused as if it did not exist, so
  ids tell nothing about other people's files;
- a file is read by whoever may read a record holding it, and by its uploader until it
  is attached (:func:`is_attached`).

:func:`upload`, :func:`info`, :func:`path_for` and :func:`foreign` apply these rules for a
:class:`~yiti.records.service.Records`; the other functions do no checks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, insert, or_, select

from yiti.definitions.model import Entity, Model
from yiti.errors import Forbidden, NotFound, ValidationError
from yiti.records.statements import plain
from yiti.records.transaction import reading, transaction

if TYPE_CHECKING:
    from yiti.records.service import Record, Records

#: The largest file kept (bytes); the web layer refuses a larger request body before
#: reading it (``MAX_CONTENT_LENGTH``).
MAX_SIZE = 50 * 1024 * 1024


def store(conn: Connection, files: Table, root: Path, *, filename: str, content_type: str,
          data: bytes, user: str) -> int:
    if len(data) > MAX_SIZE:
        raise ValidationError(f"the file is larger than {MAX_SIZE // (1024 * 1024)} MB",
                              field="file")
    # Control characters have no place in a name shown on pages and sent in headers.
    name = re.sub(r"[\x00-\x1f\x7f]", "", Path(filename.replace("\\", "/")).name)[:255] or "file"
    digest = hashlib.sha256(data).hexdigest()
    path = file_path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    else:  # the same content again: tell the cleanup of abandoned uploads it is in use
        os.utime(path)
    return conn.execute(insert(files).values(
        sha256=digest, filename=name, content_type=content_type[:127] or
        "application/octet-stream", size=len(data), created_at=dt.datetime.now(dt.UTC),
        created_by=user,
    ).returning(files.c.id)).scalar_one()


def file_path(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest


def uploaded_by(conn: Connection, files: Table, ids: set[int], user: str) -> set[int]:
    """Which of ``ids`` are files ``user`` uploaded."""
    return set(conn.execute(select(files.c.id).where(files.c.id.in_(sorted(ids)),
                                                     files.c.created_by == user)).scalars())


def holders(model: Model) -> Iterator[tuple[Entity, str]]:
    """Every attachment field as (the document entity, its path from the document):
    ``photo`` on the document, ``photos.photo`` on its lines (the filter path a list of
    the document takes), ``lines.parts.drawing`` deeper down."""
    for entity in model.entities.values():
        if entity.child:
            continue
        yield from _paths(model, entity, entity, "")


def _paths(model: Model, document: Entity, entity: Entity,
           prefix: str) -> Iterator[tuple[Entity, str]]:
    for f in entity.fields.values():
        if f.type == "attachment":
            yield document, f"{prefix}{f.name}"
        elif f.is_table and f.target:
            yield from _paths(model, document, model.entities[f.target],
                              f"{prefix}{f.name}.")


def is_attached(conn: Connection, model: Model, tables: Mapping[str, Table],
                file_id: int) -> bool:
    """Whether any record or line holds the file (whoever may read it)."""
    held = [select(tables[e.table_name].c.id).where(tables[e.table_name].c[f.name] == file_id)
            .exists() for e in model.entities.values()
            for f in e.fields.values() if f.type == "attachment"]
    return bool(held) and bool(conn.execute(select(or_(*held))).scalar())


def names(engine: Engine, files: Table, ids: Iterable[Any]) -> dict[int, str]:
    """id → file name, for showing attachments of records the caller has read already
    (a record the caller may read lets them read its files); one query."""
    wanted = sorted({int(i) for i in ids if isinstance(i, int) or str(i).isdigit()})
    if not wanted:
        return {}
    with reading(engine) as conn:
        return dict(conn.execute(select(files.c.id, files.c.filename)
                                 .where(files.c.id.in_(wanted))).all())


def upload(records: Records, filename: str, content_type: str, data: bytes) -> int:
    """:meth:`~yiti.records.service.Records.store_file`: :func:`store`, for an actor who may
    create or change some record that holds files."""
    if not records.actor.system and not any(
            _allowed(records, records.model.entities[name], action)
            for name in {e.name for e, _ in holders(records.model)}
            for action in ("create", "write")):
        raise Forbidden("you may not create or change any record that holds files")
    with transaction(records.site.engine) as tx:
        return store(tx.conn, records.tables["yiti_file"], records.site.settings.files_path,
                     filename=filename, content_type=content_type, data=data,
                     user=records.actor.name)


def info(records: Records, file_id: int) -> Record:
    """:meth:`~yiti.records.service.Records.file_info`: a file's metadata, if the actor may
    read a record or line that holds it, or uploaded it and it is not attached yet;
    NotFound otherwise, the same whether it exists or not, so file ids leak nothing."""
    files = records.tables["yiti_file"]
    with reading(records.site.engine) as conn:
        row = conn.execute(select(files).where(files.c.id == file_id)).mappings().first()
        if row is None:
            raise NotFound(f"file {file_id} not found")
        if records.actor.system or (row["created_by"] == records.actor.name
                                    and not is_attached(conn, records.model, records.tables,
                                                        file_id)):
            return plain(row)
    for entity, path in holders(records.model):
        readable = records.policy.readable(records.actor, entity)
        if readable is not None and path.split(".")[0] not in readable:
            continue
        try:
            page = records.list(entity.name, filters=[(path, "=", file_id)], limit=1,
                                fields=["id"])
        except (Forbidden, NotFound, ValidationError):
            continue  # may not list the entity, or a field on the path is hidden
        if page.rows:
            return plain(row)
    raise NotFound(f"file {file_id} not found")


def path_for(records: Records, file_id: int) -> Path:
    """Where an attachment's bytes are, after the same check as :func:`info`."""
    found = records.file_info(file_id)
    return file_path(records.site.settings.files_path, found["sha256"])


def foreign(records: Records, ids: set[int]) -> set[tuple[str, int]]:
    """Of the file ids a write attaches (anew), those the actor may not attach: not
    uploaded by them, and held by no record they may read. Refused as if missing."""
    if not ids or records.actor.system:
        return set()
    with reading(records.site.engine) as conn:
        mine = uploaded_by(conn, records.tables["yiti_file"], ids, records.actor.name)
    refused = set()
    for ident in ids - mine:
        try:
            records.file_info(ident)
        except NotFound:
            refused.add(("yiti_file", ident))
    return refused


def _allowed(records: Records, entity: Entity, action: str) -> bool:
    try:
        records.policy.check(records.actor, entity, action)
    except (Forbidden, NotFound):
        return False
    return True
