"""Writing pack endpoints take a slot of the process's write limiter; with none free in
time they answer 429 with Retry-After, and reads never wait for one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app
from yiti.web.limits import Overloaded, WriteLimiter, limiter_for

PACKS = PROJECT_ROOT / "tests" / "commerce" / "packs"


def test_the_limiter_admits_its_slots_and_refuses_the_rest():
    limiter = WriteLimiter(2, wait=0.01)
    with limiter.slot(), limiter.slot():
        with pytest.raises(Overloaded), limiter.slot():
            pass
    with limiter.slot():  # released again
        pass
    with pytest.raises(ValueError, match="at least 1"):
        WriteLimiter(0, 1)


def test_a_busy_process_sheds_writes_with_429(db_url: str, tmp_path: Path):
    register_kind(PERMISSIONS)
    site = Site(settings_for(db_url, tmp_path, modules=[PACKS], packs=["echo"]))
    site.migrate()
    try:
        app = create_app(site=site)
        app.config.update(YITI_WRITE_SLOTS=1, YITI_WRITE_WAIT=0.05)
        client = app.test_client()
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with limiter_for(app).slot():
                held.set()
                release.wait(5)

        thread = threading.Thread(target=hold)
        thread.start()
        held.wait(5)
        busy = client.post("/api/v1/x/echo/public/ping", data=b"x")
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "1"
        assert busy.mimetype == "application/problem+json"
        assert busy.json["code"] == "too_many_requests"
        assert client.get("/api/v1/x/echo/public/ping").status_code == 200  # reads pass
        release.set()
        thread.join()
        assert client.post("/api/v1/x/echo/public/ping", data=b"x").status_code == 200
    finally:
        site.close()
