"""Fixtures shared by the whole suite.

``db_url`` is a fresh database for one test: a SQLite file, or a new schema in the
PostgreSQL database named by ``YITI_TEST_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from yiti.testing import postgres_url, temporary_database


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    with temporary_database(tmp_path) as url:
        yield url


@pytest.fixture
def postgres_db_url(tmp_path: Path) -> Iterator[str]:
    """A PostgreSQL database; the test skips (saying why) when none is configured."""
    if not postgres_url():
        pytest.skip("needs PostgreSQL: set YITI_TEST_DATABASE_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    with temporary_database(tmp_path) as url:
        yield url


@pytest.fixture
def app(site) -> Flask:  # noqa: ANN001 (each folder's own site fixture)
    """The web app over the requesting test's ``site``, errors raised (TESTING)."""
    from yiti.web.app import create_app

    app = create_app(site=site)
    app.config["TESTING"] = True
    return app
