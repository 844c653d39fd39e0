"""Abandoned uploads: files uploaded (``POST /api/v1/_files``, a form's file input) that
no record ever took.

A built-in schedule (``yiti_uploads``, hourly at ``YITI_UPLOAD_CLEANUP_CRON``; enabled,
disabled and run now like any other), declared when some entity holds files, runs the
job ``yiti.uploads``, which deletes the ``yiti_file`` rows older than
``YITI_UPLOAD_MAX_AGE_HOURS`` (24) that

- no record or line holds now (any attachment field, at any depth: the foreign keys of
  those fields refuse the delete anyway, so a file attached meanwhile stays), and
- no change in the audit trail names: a file a record held once and let go (replaced,
  its line removed, the record deleted) stays, so the history still names it. Such files
  are few and small next to the records that held them.

and then their bytes on disk, unless another ``yiti_file`` row has the same content
(files are kept by content hash) or the bytes were written or uploaded again within the
last hour (an upload of the same content under way).

Rows go ``retention_batch`` at a time, each batch its own transaction; each file in a
savepoint, so one attached in between (its foreign key refuses) only keeps itself.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, select
from sqlalchemy.exc import IntegrityError

from yiti.jobs.registry import job
from yiti.records.transaction import reading, transaction

if TYPE_CHECKING:
    from yiti.jobs.runner import JobContext
    from yiti.jobs.schedules import Schedule
    from yiti.jobs.service import Jobs

UPLOADS_JOB = "yiti.uploads"
UPLOADS_SCHEDULE = "yiti_uploads"
#: Bytes on disk written (or uploaded again) this recently are kept even without a row:
#: an upload of the same content may be about to insert its row.
DISK_GRACE = 3600.0
#: Audit rows read per query when looking for the files the history names.
AUDIT_PAGE = 1000


def builtin_schedules(jobs: Jobs) -> dict[str, Schedule]:
    """The cleanup schedule, when some entity holds files and uploads expire (an age of
    0 keeps them forever)."""
    from yiti.jobs.schedules import Schedule, cron_problem

    settings = jobs.settings
    if settings.upload_max_age_hours <= 0 or not _attachment_columns(jobs):
        return {}
    if cron_problem(settings.upload_cleanup_cron):  # reported by settings_problems
        return {}
    return {UPLOADS_SCHEDULE: Schedule(
        name=UPLOADS_SCHEDULE, job=UPLOADS_JOB, cron=settings.upload_cleanup_cron,
        timezone=jobs.site.settings.timezone,
        label={"en": "Delete uploads no record took", "zh-CN": "清理未被使用的上传文件"},
    )}


def settings_problems(jobs: Jobs) -> list[str]:
    from yiti.jobs.schedules import cron_problem

    problem = cron_problem(jobs.settings.upload_cleanup_cron)
    return ([f"YITI_UPLOAD_CLEANUP_CRON: {problem}; abandoned uploads are not deleted"]
            if problem else [])


def _attachment_columns(jobs: Jobs) -> list[Any]:
    """Every attachment column of every entity and line table."""
    tables, model = jobs.site.tables, jobs.site.model
    return [tables[e.table_name].c[f.name] for e in model.entities.values()
            for f in e.fields.values() if f.type == "attachment"]


def _attachment_names(jobs: Jobs) -> frozenset[str]:
    return frozenset(f.name for e in jobs.site.model.entities.values()
                     for f in e.fields.values() if f.type == "attachment")


def _unheld(jobs: Jobs, files: Any) -> ColumnElement[bool]:
    """No record or line holds the file."""
    return and_(*[~exists().where(col == files.c.id) for col in _attachment_columns(jobs)])


def _named(value: Any, names: frozenset[str], inside: bool = False) -> Iterator[int]:
    """File ids in an audit item's changes: the values under an attachment field's name,
    at any depth (lines added, removed or changed)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _named(item, names, key in names)
    elif isinstance(value, list):
        for item in value:
            yield from _named(item, names, inside)
    elif inside and isinstance(value, int) and not isinstance(value, bool):
        yield value


def in_history(jobs: Jobs, since: dt.datetime) -> set[int]:
    """The file ids the audit trail names in changes made since ``since`` (a file can be
    named only after its upload), of the entities whose records or lines hold files."""
    from yiti.records.files import holders

    audit, names = jobs.site.tables["yiti_audit"], _attachment_names(jobs)
    documents = sorted({e.name for e, _ in holders(jobs.site.model)})
    out: set[int] = set()
    last = 0
    while True:  # a page at a time by id: no cursor, no long transaction
        with reading(jobs.site.engine) as conn:
            rows = conn.execute(select(audit.c.id, audit.c.changes).where(
                audit.c.entity.in_(documents), audit.c.at >= since, audit.c.id > last)
                .order_by(audit.c.id).limit(AUDIT_PAGE)).all()
        for _, changes in rows:
            out.update(_named(changes, names))
        if len(rows) < AUDIT_PAGE:
            return out
        last = rows[-1][0]


def purge_uploads(jobs: Jobs, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete the uploads older than the setting that no record holds or held; how many
    rows and files on disk went."""
    now = now or jobs.now()
    settings, files = jobs.settings, jobs.site.tables["yiti_file"]
    counts = {"uploads": 0, "files_on_disk": 0}
    if settings.upload_max_age_hours <= 0 or not _attachment_columns(jobs):
        return counts
    cutoff = now - dt.timedelta(hours=settings.upload_max_age_hours)
    old = and_(files.c.created_at < cutoff, _unheld(jobs, files))
    with reading(jobs.site.engine) as conn:
        since = conn.execute(select(func.min(files.c.created_at)).where(old)).scalar()
    if since is None:
        return counts
    kept = in_history(jobs, since)
    last = None
    while True:
        query = select(files.c.id, files.c.sha256).where(old)
        if last is not None:
            query = query.where(files.c.id > last)
        with reading(jobs.site.engine) as conn:
            batch = conn.execute(query.order_by(files.c.id)
                                 .limit(settings.retention_batch)).all()
        gone = _delete_rows(jobs, [(i, h) for i, h in batch if i not in kept])
        counts["uploads"] += len(gone)
        counts["files_on_disk"] += _delete_bytes(jobs, {h for _, h in gone})
        if len(batch) < settings.retention_batch:
            return counts
        last = batch[-1][0]


def _delete_rows(jobs: Jobs, rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Delete the rows, each in a savepoint: one a record took meanwhile (its foreign key
    refuses) is kept, the others go."""
    files, gone = jobs.site.tables["yiti_file"], []
    if not rows:
        return gone
    with transaction(jobs.site.engine) as tx:
        for ident, digest in rows:
            try:
                with tx.conn.begin_nested():
                    deleted = tx.conn.execute(delete(files).where(
                        files.c.id == ident, _unheld(jobs, files))).rowcount
            except IntegrityError:
                continue
            if deleted:
                gone.append((ident, digest))
    return gone


def _delete_bytes(jobs: Jobs, digests: Iterable[str]) -> int:
    """Remove the bytes of ``digests`` that no file row names any more (a row of the
    same content keeps them) and that nothing wrote lately."""
    from yiti.records.files import file_path

    files, root = jobs.site.tables["yiti_file"], jobs.site.settings.files_path
    wanted = sorted(digests)
    if not wanted:
        return 0
    with reading(jobs.site.engine) as conn:
        still = set(conn.execute(select(files.c.sha256).where(
            files.c.sha256.in_(wanted))).scalars())
    removed = 0
    for digest in wanted:
        path = file_path(root, digest)
        if digest in still or not path.exists():
            continue
        if time.time() - path.stat().st_mtime < DISK_GRACE:
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed


@job(UPLOADS_JOB, transactional=False)
def uploads(ctx: JobContext) -> dict[str, Any]:
    """The built-in schedule's job: :func:`purge_uploads` as of the job's clock."""
    return purge_uploads(ctx.jobs, ctx.now())
