"""A site with the example pack (expense claims) and the wfpack test pack, a fake clock,
the workflow engine installed, an app, and users with API tokens.

Users: ann (Employee; her manager is leo), bob (Employee, manager leo), leo (TeamLead),
fay (FinanceManager), gus (GeneralManager), lex (Legal), dan (TeamLead, a stand-in).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import yiti.workflow  # noqa: F401 - registers the workflow kind and tables before the site
from yiti.config import PROJECT_ROOT
from yiti.jobs import FakeClock, JobSettings
from yiti.jobs import install as install_jobs
from yiti.permissions import tokens, users
from yiti.site import Site
from yiti.testing import settings_for
from yiti.workflow import Workflows, install

PACK = Path(__file__).parent / "pack"
PEOPLE: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "ann": (("Employee",), {"manager": "leo"}),
    "bob": (("Employee",), {"manager": "leo"}),
    "leo": (("TeamLead",), {}),
    "fay": (("FinanceManager",), {}),
    "gus": (("GeneralManager",), {}),
    "lex": (("Legal",), {}),
    "dan": (("TeamLead",), {}),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def build_site(db_url: str, tmp_path: Path, clock: FakeClock,
               settings: JobSettings | None = None) -> Site:
    site = Site(settings_for(db_url, tmp_path, modules=[PROJECT_ROOT / "modules", PACK],
                             packs=["example", "wfpack"]))
    site.migrate()
    install_jobs(site, settings=settings or JobSettings(retry_delay=0.1, max_attempts=2),
                 clock=clock)
    install(site)
    return site


@pytest.fixture
def site(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Site]:
    site = build_site(db_url, tmp_path, clock)
    yield site
    site.close()


@pytest.fixture
def engine(site: Site) -> Workflows:
    return install(site)


@pytest.fixture
def people(site: Site) -> dict[str, dict[str, str]]:
    """Each user's Authorization header (their actors: ``actor(site, name)``)."""
    out = {}
    for name, (roles, attributes) in PEOPLE.items():
        ident = users.create_user(site, name, f"{name}-password-1", roles=roles,
                                  attributes=attributes, email=f"{name}@example.com")
        token, _ = tokens.create_token(site, ident, ("*",))
        out[name] = {"Authorization": f"Bearer {token}"}
    return out


def actor(site: Site, name: str):  # noqa: ANN201
    return users.actor_for(site, users.get_user(site, name))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Api:
    """Calls as one user: ``api("ann").post("/api/v1/...", json=...)``."""

    def __init__(self, client: FlaskClient, people: dict[str, dict[str, str]]) -> None:
        self.client, self.people = client, people

    def __call__(self, name: str) -> Any:
        client, headers = self.client, self.people[name]

        class As:
            def get(self, url: str, **kw: Any) -> Any:
                return client.get(url, headers=headers, **kw)

            def post(self, url: str, **kw: Any) -> Any:
                return client.post(url, headers={**headers, **kw.pop("headers", {})}, **kw)

            def patch(self, url: str, **kw: Any) -> Any:
                return client.patch(url, headers={**headers, **kw.pop("headers", {})}, **kw)

            def act(self, entity: str, ident: int, action: str, **body: Any) -> Any:
                return client.post(f"/api/v1/{entity}/{ident}/actions/{action}",
                                   headers=headers, json=body)

        return As()


@pytest.fixture
def api(client: FlaskClient, people: dict[str, dict[str, str]]) -> Api:
    return Api(client, people)
