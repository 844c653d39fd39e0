from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yiti.site import Site
from yiti.testing import load, settings_for


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The example packs, migrated into a fresh database."""
    site = Site(settings_for(db_url, tmp_path), model=load(packs=["example", "example_ext"]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def records(site: Site):  # noqa: ANN201
    return site.records()


@pytest.fixture
def contact(records) -> dict:  # noqa: ANN001
    return records.create("contact", {"full_name": "Ann Lee", "email": "ann@example.com"})


@pytest.fixture
def items(records) -> list[dict]:  # noqa: ANN001
    return [
        records.create("item", {"code": "BK-1", "title": "SICP", "stock": 3, "deposit": "20.00"}),
        records.create("item", {"code": "TL-1", "title": "Drill", "kind": "tool", "stock": 1,
                                "deposit": "150.00", "weight": "1.250"}),
    ]
