"""A site with the example packs and the library_roles test pack (roles and rules)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.permissions import users
from yiti.permissions.kind import PERMISSIONS
from yiti.permissions.policy import Actor
from yiti.site import Site
from yiti.testing import settings_for

PACKS = Path(__file__).parent / "packs"


@pytest.fixture(autouse=True)
def permissions_kind() -> None:
    """Another suite's test may have unregistered the kind (tests/definitions replaces it
    temporarily and deletes it afterwards): register ours again."""
    register_kind(PERMISSIONS)


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = Site(settings_for(db_url, tmp_path, modules=[PROJECT_ROOT / "modules", PACKS]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def actor(site: Site):  # noqa: ANN201
    """``actor(name, *roles, **attributes)``: a user created once, as the service sees it."""

    def make(name: str, *roles: str, **attributes: object) -> Actor:
        users.create_user(site, name, f"{name}-password", roles=roles, attributes=attributes)
        return users.actor_for(site, users.get_user(site, name))

    return make
