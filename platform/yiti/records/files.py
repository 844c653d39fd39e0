"""Attachments: the bytes live on disk by content hash, the metadata in ``yiti_file``."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from sqlalchemy import Connection, Table, insert

MAX_SIZE = 50 * 1024 * 1024


def store(conn: Connection, files: Table, root: Path, *, filename: str, content_type: str,
          data: bytes, user: str) -> int:
    from yiti.errors import ValidationError

    if len(data) > MAX_SIZE:
        raise ValidationError(f"the file is larger than {MAX_SIZE // (1024 * 1024)} MB",
                              field="file")
    name = Path(filename.replace("\\", "/")).name[:255] or "file"
    digest = hashlib.sha256(data).hexdigest()
    path = file_path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    return conn.execute(insert(files).values(
        sha256=digest, filename=name, content_type=content_type[:127] or
        "application/octet-stream", size=len(data), created_at=dt.datetime.now(dt.UTC),
        created_by=user,
    ).returning(files.c.id)).scalar_one()


def file_path(root: Path, digest: str) -> Path:
    return root / digest[:2] / digest
