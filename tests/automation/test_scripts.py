"""Server scripts bound to record events, API endpoints and schedules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from yiti.automation import run_endpoint, run_scheduled
from yiti.config import PROJECT_ROOT
from yiti.errors import NotFound, ValidationError
from yiti.permissions import Actor
from yiti.scripting import ScriptError
from yiti.site import Site
from yiti.testing import load, settings_for

SCRIPTS = {
    "overdue.yaml": """
        script: mark_overdue
        entity: loan
        event: before_save
        code: |
          if doc.due_date and doc.due_date < date(2026, 1, 1):
              doc.status = "overdue"
        """,
    "stock.yaml": """
        script: take_stock
        entity: loan
        event: after_save
        code: |
          for line in doc.lines:
              item = get_record("item", line.item)
              if item.stock < line.qty:
                  throw("only " + str(item.stock) + " left", "lines")
              update_record("item", line.item, {"stock": item.stock - line.qty})
        """,
    "api.yaml": """
        script: stock_of
        event: api
        roles: [Librarian]
        code: |
          item = get_record("item", params["code"])
          result = {"code": params["code"], "stock": item.stock if item else None}
        """,
    "nightly.yaml": """
        script: count_items
        event: schedule
        code: |
          result = len(list_records("item", {}, limit=1000))
        """,
    "boom.yaml": """
        script: boom
        event: api
        code: |
          n = 0
          result = 1 / n
        """,
    "spin.yaml": """
        script: spin
        event: api
        code: |
          n = 0
          while True:
              n += 1
        """,
}


def write_pack(root: Path, scripts: dict[str, str]) -> Path:
    pack = root / "packs" / "auto"
    (pack / "scripts").mkdir(parents=True, exist_ok=True)
    (pack / "module.yaml").write_text(
        "name: auto\nversion: '1'\nlabel: Automation\ndepends: [example]\n")
    for name, text in scripts.items():
        (pack / "scripts" / name).write_text(textwrap.dedent(text).lstrip())
    (pack / "permissions").mkdir(exist_ok=True)
    (pack / "permissions" / "desk.yaml").write_text(
        "access:\n"
        "  - [Desk, loan, read create]\n"
        "  - [Desk, item, read]\n"
        "  - [Desk, contact, read]\n"
        "  - [Librarian, item, read]\n"
        "roles:\n  Librarian: {}\n  Desk: {}\n")
    return root / "packs"


@pytest.fixture
def site(tmp_path, db_url):  # noqa: ANN001, ANN201
    packs = write_pack(tmp_path, SCRIPTS)
    modules = [PROJECT_ROOT / "modules", packs]
    site = Site(settings_for(db_url, tmp_path, modules=modules),
                model=load(modules, packs=["example", "auto"]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def library(site):  # noqa: ANN001, ANN201
    records = site.records()
    contact = records.create("contact", {"full_name": "Ann"})
    item = records.create("item", {"code": "BK-1", "title": "Book", "stock": 2})
    return contact, item


def test_a_before_save_script_changes_the_record(site, library):
    contact, item = library
    loan = site.records().create("loan", {"contact": contact["id"], "loan_date": "2025-12-01",
                                          "due_date": "2025-12-15",
                                          "lines": [{"item": item["id"]}]})
    assert loan["status"] == "overdue"


def test_an_after_save_script_writes_in_the_same_transaction(site, library):
    contact, item = library
    records = site.records()
    records.create("loan", {"contact": contact["id"], "lines": [{"item": item["id"], "qty": 2}]})
    assert records.get("item", item["id"])["stock"] == 0
    with pytest.raises(ValidationError) as error:
        records.create("loan", {"contact": contact["id"], "lines": [{"item": item["id"]}]})
    assert [(p.field, p.message) for p in error.value.problems] == [("lines", "only 0 left")]
    assert records.count("loan").value == 1  # the refused loan rolled back


def test_scripts_act_with_the_callers_permissions(site, library):
    contact, item = library
    # A role that may create loans but not change items: the script's update is refused,
    # and the whole save rolls back.
    desk = site.records(Actor("desk", frozenset({"Desk"})))
    with pytest.raises(Exception) as error:
        desk.create("loan", {"contact": contact["id"], "lines": [{"item": item["id"]}]})
    assert type(error.value).__name__ in ("Forbidden", "NotFound")
    assert site.records().get("item", item["id"])["stock"] == 2
    assert site.records().count("loan").value == 0


def test_api_scripts_answer_only_their_roles(site, library):
    librarian = Actor("lib", frozenset({"Librarian"}))
    assert run_endpoint(site, librarian, "stock_of", {"code": "BK-1"}) == {
        "code": "BK-1", "stock": 2}
    with pytest.raises(NotFound):
        run_endpoint(site, Actor("guest", frozenset({"Guest"})), "stock_of", {"code": "BK-1"})
    with pytest.raises(NotFound):
        run_endpoint(site, librarian, "mark_overdue", {})  # not an endpoint
    # The script reads with the caller's permissions: a role that can't see items gets none.
    site.records().create("item", {"code": "BK-2", "title": "Other"})
    reader = Actor("reader", frozenset({"Desk", "Librarian"}))
    assert run_endpoint(site, reader, "stock_of", {"code": "BK-2"})["stock"] == 0


def test_a_runaway_script_stops_and_the_next_one_runs(site, library):
    admin = Actor("root", frozenset({"Administrator"}))
    with pytest.raises(ScriptError) as error:
        run_endpoint(site, admin, "spin", {})
    assert error.value.code in ("loop_limit", "cpu_limit", "timeout")
    assert run_endpoint(site, admin, "stock_of", {"code": "BK-1"})["stock"] == 2


def test_scheduled_scripts_run_as_the_system(site, library):
    assert run_scheduled(site, "count_items", {"due_at": "2026-11-25T08:00:00+08:00"}) == 1


def test_check_reports_script_errors_at_their_line(tmp_path):
    packs = write_pack(tmp_path, {"bad.yaml": """
        script: broken
        entity: loan
        event: before_save
        code: |
          total = 0
          import os
        """, "worse.yaml": """
        script: worse
        entity: loan
        event: before_sav
        code: "x = 1"
        """})
    from yiti.cli import main

    result = CliRunner().invoke(main, ["check", "--modules", str(PROJECT_ROOT / "modules"),
                                       "--modules", str(packs)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any("bad.yaml:6: code:" in line and "import" in line.lower() for line in lines)
    assert any("worse.yaml:3: event: unknown event 'before_sav'" in line for line in lines)


def test_script_endpoints_over_http(site, library):
    from yiti.permissions import tokens, users
    from yiti.web.app import create_app

    app = create_app(site=site)
    client = app.test_client()

    def bearer(name: str, *roles: str) -> dict[str, str]:
        ident = users.create_user(site, name, f"{name}-password-long", roles=roles)
        return {"Authorization": f"Bearer {tokens.create_token(site, ident, ['*'])[0]}"}

    librarian = bearer("lib", "Librarian")
    r = client.post("/api/v1/_scripts/stock_of", json={"code": "BK-1"}, headers=librarian)
    assert r.status_code == 200 and r.json == {"result": {"code": "BK-1", "stock": 2}}
    r = client.post("/api/v1/_scripts/stock_of", json={"code": "BK-1"},
                    headers=bearer("desk", "Desk"))
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    r = client.post("/api/v1/_scripts/spin", json={}, headers=bearer("root", "Administrator"))
    assert r.status_code == 422 and r.json["code"] in ("loop_limit", "cpu_limit", "timeout")
    anonymous = client.post("/api/v1/_scripts/stock_of", json={"code": "BK-1"})
    assert anonymous.status_code in (401, 403) and "stock" not in anonymous.get_data(as_text=True)


@pytest.mark.parametrize(("code", "field", "problem"), [
    ("doc.lines[0].bogus = 1", "lines[0].bogus", "unknown_field"),
    ("doc.lines[0]['bogus'] = 1", "lines[0].bogus", "unknown_field"),
    ("doc.lines[0].qty = 'many'", "lines[0].qty", "type"),
    ("doc.bogus = 1", "bogus", "unknown_field"),
])
def test_a_before_save_scripts_line_keys_are_checked_as_its_fields(tmp_path, db_url, code,
                                                                  field, problem):
    packs = write_pack(tmp_path, {"lines.yaml": f"""
        script: line_keys
        entity: loan
        event: before_save
        code: |
          {code}
        """})
    modules = [PROJECT_ROOT / "modules", packs]
    site = Site(settings_for(db_url, tmp_path, modules=modules),
                model=load(modules, packs=["example", "auto"]))
    try:
        site.migrate()
        records = site.records()
        contact = records.create("contact", {"full_name": "Ann"})
        item = records.create("item", {"code": "BK-1", "title": "Book", "stock": 2})
        with pytest.raises(ValidationError) as error:
            records.create("loan", {"contact": contact["id"], "lines": [{"item": item["id"]}]})
        assert [(p.field, p.code) for p in error.value.problems] == [(field, problem)]
        assert "script 'line_keys'" in error.value.problems[0].message
        assert records.count("loan").value == 0
    finally:
        site.close()


def test_an_error_names_the_script_file_from_its_pack_never_the_servers_path(site, library,
                                                                             tmp_path):
    from yiti.permissions import tokens, users
    from yiti.web.app import create_app

    client = create_app(site=site).test_client()
    ident = users.create_user(site, "root", "root-password-long", roles=["Administrator"])
    auth = {"Authorization": f"Bearer {tokens.create_token(site, ident, ['*'])[0]}"}
    r = client.post("/api/v1/_scripts/boom", json={}, headers=auth)
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["detail"] == "auto/scripts/boom.yaml:5: boom: ZeroDivisionError: division by zero"
    assert str(tmp_path) not in r.get_data(as_text=True)
    assert not any(str(v).startswith("/") for v in r.json.values())
