"""Fixtures of the storefront tests: a commerce site with a small shop (see sfshop.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sfshop import build_shop, make_site

from yiti.site import Site
from yiti.web.app import create_app


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = make_site(db_url, tmp_path)
    yield site
    site.close()


@pytest.fixture
def shop(site: Site) -> dict[str, Any]:
    return build_shop(site)


@pytest.fixture
def client(site: Site, shop: dict[str, Any]) -> FlaskClient:
    return create_app(site=site).test_client()

