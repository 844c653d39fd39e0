"""Abandoned uploads: the built-in hourly schedule deletes uploads no record took, older
than a day, with their bytes; never a file a record or a line holds, nor one the history
names, nor the bytes another file shares."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from yiti.jobs import FakeClock, install, schedules
from yiti.jobs.uploads import UPLOADS_JOB, UPLOADS_SCHEDULE, purge_uploads
from yiti.permissions.policy import Actor
from yiti.records.files import file_path
from yiti.site import Site

from ..web_ui.leavepack import build_site
from .conftest import FAST

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = build_site(db_url, tmp_path)
    install(site, settings=FAST, clock=FakeClock(NOW))
    yield site
    site.close()


def file_ids(site: Site) -> set[int]:
    files = site.tables["yiti_file"]
    with site.engine.connect() as conn:
        return set(conn.execute(select(files.c.id)).scalars())


def on_disk(site: Site, content: bytes) -> Path:
    import hashlib

    return file_path(site.settings.files_path, hashlib.sha256(content).hexdigest())


def age(site: Site, content: bytes, *, hours: float) -> None:
    """Make the bytes look written ``hours`` ago (they were, just now)."""
    stamp = (NOW - dt.timedelta(hours=hours)).timestamp()
    os.utime(on_disk(site, content), (stamp, stamp))


def test_the_schedule_deletes_abandoned_uploads_and_keeps_what_records_hold(site):
    ann = site.records(Actor("ann", frozenset({"Employee"})))
    upload = ann.store_file  # (name, type, bytes) -> id, as POST /api/v1/_files
    abandoned = upload("left.pdf", "application/pdf", b"left behind")
    held = upload("held.pdf", "application/pdf", b"held")
    twin = upload("twin.pdf", "application/pdf", b"held")  # same bytes as held, abandoned
    on_line = upload("line.pdf", "application/pdf", b"on a line")
    replaced = upload("old.pdf", "application/pdf", b"replaced")
    line_gone = upload("gone.pdf", "application/pdf", b"line removed")
    fresh = upload("fresh.pdf", "application/pdf", b"fresh")
    handover = ann.create("handover", {"note": "Keys", "document": replaced,
                                       "tasks": [{"sheet": on_line}, {"sheet": line_gone}]})
    kept_line = ann.get("handover", handover["id"])["tasks"][0]
    ann.update("handover", handover["id"], {"document": held, "tasks": [kept_line]})
    for content in (b"left behind", b"held", b"on a line", b"replaced", b"line removed"):
        age(site, content, hours=30)
    files = site.tables["yiti_file"]
    with site.engine.begin() as conn:  # uploaded 20 hours from now: 5 hours old then
        conn.execute(update(files).where(files.c.id == fresh)
                     .values(created_at=NOW + dt.timedelta(hours=20)))

    view = {s["name"]: s for s in schedules.overview(site.jobs)}
    assert view[UPLOADS_SCHEDULE]["enabled"] and view[UPLOADS_SCHEDULE]["module"] is None
    site.jobs.tick()  # seen: it fires from now on
    site.jobs.clock.advance(hours=25)
    site.jobs.tick()
    site.jobs.drain()
    runs = [j for j in site.jobs.list() if j["name"] == UPLOADS_JOB]
    assert len(runs) == 1 and runs[0]["state"] == "done"
    assert runs[0]["result"] == {"uploads": 2, "files_on_disk": 1}

    assert file_ids(site) == {held, on_line, replaced, line_gone, fresh}
    assert not on_disk(site, b"left behind").exists()
    assert on_disk(site, b"held").exists()  # the twin's row went, its bytes are held's
    assert abandoned not in file_ids(site) and twin not in file_ids(site)
    for content in (b"on a line", b"replaced", b"line removed", b"fresh"):
        assert on_disk(site, content).exists()
    got = ann.file_info(held)
    assert got["filename"] == "held.pdf"

    # Run again five hours on: nothing more goes (the history still names two of them,
    # the fresh one is ten hours old).
    assert purge_uploads(site.jobs, NOW + dt.timedelta(hours=30)) == {
        "uploads": 0, "files_on_disk": 0}
    assert fresh in file_ids(site)


def test_bytes_written_lately_stay_and_an_age_of_zero_keeps_every_upload(site):
    ann = site.records(Actor("ann", frozenset({"Employee"})))
    ann.store_file("a.pdf", "application/pdf", b"again")
    ann.store_file("b.pdf", "application/pdf", b"again")  # uploaded again: bytes touched
    later = NOW + dt.timedelta(hours=25)
    assert purge_uploads(site.jobs, later) == {"uploads": 2, "files_on_disk": 0}
    assert on_disk(site, b"again").exists()  # written within the hour: an upload may be on

    ann.store_file("c.pdf", "application/pdf", b"kept")
    site.jobs.settings = site.jobs.settings.with_(upload_max_age_hours=0)
    assert purge_uploads(site.jobs, later) == {"uploads": 0, "files_on_disk": 0}
    assert UPLOADS_SCHEDULE not in {s["name"] for s in schedules.overview(site.jobs)}
