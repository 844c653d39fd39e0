"""Fixtures for the job layer: a pack with test jobs, sites on the embedded or Redis queue."""

from __future__ import annotations

import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from yiti.jobs import FakeClock, JobSettings, install
from yiti.jobs.embedded import start_consumer
from yiti.site import Site
from yiti.testing import settings_for

PACK = Path(__file__).parent / "pack"
REDIS_URL = "redis://127.0.0.1:6379/0"

#: Short back-off, leases and polls: the suite stays fast.
FAST = JobSettings(retry_delay=0.2, retry_max_delay=1.0, max_attempts=3, lease=30,
                   redispatch_after=0, poll_max=0.1, webhook_timeout=5)


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def modules(tmp_path: Path) -> Path:
    """A copy of the test pack, so a test can add definitions (webhooks with its URL)."""
    target = tmp_path / "modules"
    shutil.copytree(PACK, target)
    return target


@pytest.fixture(params=["embedded", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "redis" and not redis_available():
        pytest.skip("needs Redis on 127.0.0.1:6379 (start redis-server to run this case)")
    return request.param


@pytest.fixture
def make_site(tmp_path: Path, db_url: str, modules: Path) -> Iterator[Callable[..., Site]]:
    """Build (and migrate) a site on the test pack; ``backend="redis"`` for the Redis queue."""
    made: list[Site] = []

    def make(*, backend: str = "embedded", clock: FakeClock | None = None,
             settings: JobSettings = FAST, migrate: bool = True) -> Site:
        base = settings_for(db_url, tmp_path, modules=[modules], packs=["jobpack"])
        if backend == "redis":
            base = base.with_(redis_url=REDIS_URL)
        site = Site(base)
        if migrate and not made:
            site.migrate()
        queue = f"yiti-test-{uuid.uuid4().hex[:8]}" if not made else made[0].jobs.settings.queue_name
        install(site, settings=settings.with_(queue_name=queue), clock=clock)
        made.append(site)
        return site

    yield make
    for site in made:
        if site.settings.redis_url:
            site.jobs.huey.flush()
        site.close()


@pytest.fixture
def site(make_site: Callable[..., Site], backend: str) -> Site:
    return make_site(backend=backend)


@pytest.fixture
def consumer(site: Site) -> Iterator[object]:
    """Worker threads consuming the site's real queue (SQLite file or Redis)."""
    running = start_consumer(site.jobs, workers=2)
    yield running
    running.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05
             ) -> object:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
