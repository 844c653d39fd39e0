"""``yiti token create`` and ``yiti token revoke``: a token for scripted set-up, without a
browser session; it works over the API with its scopes until revoked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from yiti.cli import main
from yiti.config import PROJECT_ROOT
from yiti.permissions import users
from yiti.site import Site
from yiti.web.app import create_app

from .conftest import PACKS


@pytest.fixture
def yiti(site: Site, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Run the CLI on the test's (migrated) site."""
    for name in ("YITI_PACKS", "YITI_OVERLAY", "YITI_ROOT", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("YITI_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("YITI_MODULES", os.pathsep.join(
        [str(PROJECT_ROOT / "modules"), str(PACKS)]))
    return lambda *args: CliRunner().invoke(main, list(args))


def test_a_token_made_on_the_command_line_works_with_its_scopes_until_revoked(site, yiti):
    users.create_user(site, "sync", None, roles=["Librarian"])
    made = yiti("token", "create", "sync", "--scope", "read:*", "--label", "ERP", "--days", "30")
    assert made.exit_code == 0, made.stderr
    # only the token on stdout, so `TOK=$(yiti token create sync)` holds it
    value = made.stdout.strip()
    assert made.stdout == value + "\n"
    ident = made.stderr.split()[1]
    assert made.stderr == (f"Token {ident} of 'sync' (read:*); it is shown only now:\n")
    assert value.startswith(f"yt_{ident}_")
    client = create_app(site=site).test_client()
    auth = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/v1/_me", headers=auth).json["name"] == "sync"
    assert client.post("/api/v1/contact", json={"full_name": "X"},
                       headers=auth).status_code == 403  # read:* only
    revoked = yiti("token", "revoke", ident)
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert client.get("/api/v1/_me", headers=auth).status_code == 401


@pytest.mark.parametrize(("args", "message"), [
    (("token", "create", "nobody"), "no user called 'nobody'"),
    (("token", "create", "sync", "--scope", "read:contcat"), "unknown scope 'read:contcat'"),
    (("token", "revoke", "999"), "no token 999"),
])
def test_bad_input_is_refused_naming_it(site, yiti, args, message):
    users.create_user(site, "sync", None, roles=["Librarian"])
    result = yiti(*args)
    assert result.exit_code == 1 and message in result.stderr, result.stderr


def test_demo_names_where_it_keeps_the_password(site, yiti, tmp_path, monkeypatch):
    # the instance folder is wherever YITI_INSTANCE says, not ./instance
    monkeypatch.setenv("YITI_PACKS", "example,example_ext")
    result = yiti("demo")
    assert result.exit_code == 0, result.output
    kept = tmp_path / "instance" / "demo_admin_password"
    password = kept.read_text().strip()
    assert result.stdout.splitlines()[-1] == (
        f"Sign in at /auth/login as 'admin' with password {password!r} (kept in {kept}).")
