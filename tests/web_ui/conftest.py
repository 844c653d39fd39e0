"""A signed-in test client over the example packs, migrated into a fresh database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import yiti.web.ui  # noqa: F401 - registers the saved-view table before the site is built
from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.testing import load, settings_for

PASSWORD = "correct horse battery staple"


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    site = Site(settings_for(db_url, tmp_path), model=load(packs=["example", "example_ext"]))
    site.migrate()
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    yield site
    site.close()


def csrf(client: FlaskClient, url: str = "/auth/login") -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


class Client:
    """A signed-in client that puts the CSRF token into every form it posts."""

    def __init__(self, client: FlaskClient) -> None:
        self.raw = client
        self.token = csrf(client)
        response = client.post("/auth/login", data={"name": "clerk", "password": PASSWORD,
                                                   "csrf_token": self.token, "next": "/app/"})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.token = csrf(client, "/app/")

    def get(self, url: str, **kw):  # noqa: ANN003, ANN201
        return self.raw.get(url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):  # noqa: ANN003, ANN201
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.raw.post(url, data=data, **kw)


@pytest.fixture
def client(app: Flask) -> Client:
    return Client(app.test_client())


@pytest.fixture
def signed_in():  # noqa: ANN201
    """Sign in to another app: ``signed_in(app)`` is a :class:`Client`."""
    return lambda app: Client(app.test_client())


@pytest.fixture
def records(site: Site):  # noqa: ANN201
    return site.records()
