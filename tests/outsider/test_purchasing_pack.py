"""A pack written by an outsider from docs/ and metadata/ alone (packs/purchasing_outsider),
exercised the way the docs promise: fixtures that load once, the REST API with real roles
(create, lists with filters, a stale version, bad input named field by field), an approval
workflow by amount, the generated screens and a report. Each test also pins a gap that
writing it found (see the test's docstring)."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

import yiti.workflow  # noqa: F401 - registers the workflow kind and tables before the site
from yiti.cli import main
from yiti.fixtures import load_fixtures
from yiti.permissions import tokens, users
from yiti.permissions.policy import Actor
from yiti.reports import report_of, run_report
from yiti.site import Site
from yiti.testing import settings_for

PACKS = Path(__file__).parent / "packs"
PACK = "purchasing_outsider"
PEOPLE = {"ann": "Purchaser", "bob": "Purchaser", "mia": "Purchasing Manager", "dora": "Purchasing Director"}


@pytest.fixture(autouse=True)
def fresh_hooks() -> Iterator[None]:
    """Pack code is imported once per process (``yiti_packs.<pack>``); these tests import
    the pack from more than one folder, so each starts and ends without it."""

    def forget() -> None:
        for name in [n for n in sys.modules if n == "yiti_packs." + PACK
                     or n.startswith(f"yiti_packs.{PACK}.")]:
            del sys.modules[name]

    forget()
    yield
    forget()


def password(name: str) -> str:
    return f"{name}-password-1"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = Site(settings_for(db_url, tmp_path, modules=[PACKS], packs=[PACK]))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def people(site: Site) -> dict[str, dict[str, str]]:
    out = {}
    for name, role in PEOPLE.items():
        ident = users.create_user(site, name, password(name), roles=[role])
        token, _ = tokens.create_token(site, ident, ("*",))
        out[name] = {"Authorization": f"Bearer {token}"}
    return out


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"name": name, "password": password(name),
                                                "csrf_token": token, "next": "/app/"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def request(lines: list[tuple[str, str, str]], **values: object) -> dict[str, object]:
    return {"supplier": {"code": "ACME"}, **values,
            "lines": [{"sku": {"code": sku}, "qty": qty, "unit_price": price}
                      for sku, qty, price in lines]}


def test_fixtures_api_and_approval_round_trip(site: Site, app: Flask,
                                              people: dict[str, dict[str, str]]) -> None:
    """The docs' promises, end to end. Found by the outsider: a plain ``/submit`` by a role
    granted ``submit`` skipped the approval of a workflow whose ``approved`` state submits
    the record; it is now refused (409) and only the workflow's actions submit it."""
    assert sum(load_fixtures(site, demo=True).values()) == 6
    assert sum(load_fixtures(site, demo=True).values()) == 0  # keyed: safe to run again
    api = app.test_client()
    ann, mia, dora = people["ann"], people["mia"], people["dora"]

    created = api.post("/api/v1/purchase_request", headers=ann, json=request(
        [("BOX-S", "100", "1.10"), ("TAPE", "2.5", "3.33")], needed_by="2099-12-31"))
    assert created.status_code == 201, created.json
    pr = created.json
    assert (pr["total"], pr["state"], pr["lines"][1]["amount"]) == ("118.33", "draft", "8.33")
    assert re.fullmatch(r"PR-\d{4}-00001", pr["name"])

    listed = api.get("/api/v1/purchase_request?filter=supplier.city:eq:Shanghai"
                     "&filter=lines.sku.code:eq:TAPE&fields=name,total", headers=ann)
    assert listed.json["data"] == [{"id": pr["id"], "name": pr["name"], "total": "118.33"}]
    assert api.get("/api/v1/purchase_request", headers=people["bob"]).json["data"] == []

    url = f"/api/v1/purchase_request/{pr['id']}"
    assert api.patch(url, headers={**ann, "If-Match": '"v1"'},
                     json={"priority": "low"}).status_code == 200
    stale = api.patch(url, headers={**ann, "If-Match": '"v1"'}, json={"priority": "urgent"})
    assert stale.status_code == 409, stale.json

    bad = api.post("/api/v1/purchase_request", headers=ann, json=request(
        [("TAPE", "-1", "abc"), ("TAPE", "1.2345", "1")], priority="asap"))
    assert bad.status_code == 422
    assert {e["field"]: e["code"] for e in bad.json["errors"]} == {
        "priority": "option", "lines[0].qty": "min", "lines[0].unit_price": "type",
        "lines[1].qty": "scale"}
    needs_reason = api.post("/api/v1/purchase_request", headers=ann,
                            json=request([("TAPE", "10000", "1.50")]))
    assert needs_reason.json["errors"][0]["field"] == "justification"  # required_if

    assert api.post(f"{url}/actions/submit", headers=ann, json={}).json["state"] == "submitted"
    mia_may = api.get(f"{url}/workflow", headers=mia).json
    assert [a["action"] for a in mia_may["actions"]] == ["approve", "reject"]
    plain = api.post(f"{url}/submit", headers={**mia, "If-Match": "*"}, json={})
    assert plain.status_code == 409 and "'approve'" in plain.json["detail"], plain.json
    assert api.post(f"{url}/actions/approve", headers=ann, json={}).status_code == 403
    assert api.post(f"{url}/actions/reject", headers=mia, json={}).json["errors"][0][
        "field"] == "comment"
    approved = api.post(f"{url}/actions/approve", headers=mia, json={"comment": "ok"}).json
    assert (approved["state"], approved["docstatus"], approved["approved_by"]) == (
        "approved", "submitted", "mia")

    big = api.post("/api/v1/purchase_request", headers=ann, json=request(
        [("TSHIRT-W", "12000", "17.50")], justification="winter season")).json
    big_url = f"/api/v1/purchase_request/{big['id']}"
    api.post(f"{big_url}/actions/submit", headers=ann, json={})
    over = api.post(f"{big_url}/actions/approve", headers=mia, json={})
    assert over.status_code == 409 and "total <= 50000" in over.json["condition"], over.json
    refused = api.post(f"{big_url}/actions/approve", headers=dora, json={})
    assert refused.status_code == 422, refused.json  # the hook: past ACME's credit limit
    assert refused.json["errors"][0]["field"] == "total"
    assert api.get(big_url, headers=dora).json["state"] == "submitted"  # nothing kept


def test_screens_leave_out_hidden_fields(site: Site, app: Flask,
                                         people: dict[str, dict[str, str]]) -> None:
    """Found by the outsider: a record page showed every field of a form-less entity,
    and a field the role's field rules hide (supplier.credit_limit for Purchaser) was
    missing from the record, so the page failed with a 500."""
    load_fixtures(site, demo=True)
    ann = signed_in(app, "ann")
    for url in ("/app/supplier", "/app/supplier/1", "/app/purchase_request/new"):
        page = ann.get(url)
        assert page.status_code == 200, (url, page.get_data(as_text=True)[-500:])
    assert "credit_limit" not in ann.get("/app/supplier/1").get_data(as_text=True)
    mia = signed_in(app, "mia")
    assert "credit_limit" in mia.get("/app/supplier/1").get_data(as_text=True)
    mia_form = mia.get("/app/supplier/1/edit").get_data(as_text=True)
    assert 'name="credit_limit"' in mia_form


def test_an_emptied_report_parameter_filters_nothing(site: Site) -> None:
    """Found by the outsider: the report page offers "Any" for a select parameter, but a
    parameter sent empty took its default again, so a parameter with a default could
    never be cleared. Absent: the default; sent empty: no filter."""
    load_fixtures(site, demo=True)
    records = site.records()
    for qty in ("10", "20"):
        records.create("purchase_request", request([("TAPE", qty, "1.00")]))
    mia = Actor("mia", frozenset({"Purchasing Manager"}))
    report = report_of(site, "spend_per_supplier", mia)

    def spend(params: dict[str, str]) -> list[Decimal]:
        result = run_report(site, mia, report, params)
        key = next(c.key for c in result.columns if c.name == "spend")
        return [row.values[key] for row in result.rows if row.kind == "total"]

    assert spend({}) == [None]  # the default: approved only, and nothing is approved
    assert spend({"state": ""}) == [Decimal("30.00")]
    assert spend({"state": "draft"}) == [Decimal("30.00")]


def test_check_imports_the_hooks(tmp_path: Path) -> None:
    """Found by the outsider: ``yiti check`` said ok for a hooks.py whose ``@api.hook``
    named an unknown event, and for a workflow ``{hook: ...}`` step naming no function;
    ``yiti migrate`` then failed with a traceback, the action at run time."""
    pack = tmp_path / PACK
    shutil.copytree(PACKS / PACK, pack)
    hooks = pack / "hooks.py"
    hooks.write_text(hooks.read_text().replace('"validate")', '"validat")'))
    workflow = pack / "workflows" / "purchase_request.yaml"
    workflow.write_text(workflow.read_text().replace("{hook: request_approved}",
                                                     "{hook: request_aproved}"))
    result = CliRunner().invoke(main, ["check", "--modules", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert re.search(r"hooks\.py:\d+: hooks: cannot import the pack's hooks: ValueError: "
                     r"unknown event 'validat'; did you mean 'validate'\?", result.output)

    hooks.write_text(hooks.read_text().replace('"validat")', '"validate")'))
    for name in [n for n in sys.modules if n.startswith(f"yiti_packs.{PACK}")]:
        del sys.modules[name]
    result = CliRunner().invoke(main, ["check", "--modules", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert re.search(r"purchase_request\.yaml:\d+: states\.approved\.on_enter\[1\]\.hook: "
                     r"no function 'request_aproved' in purchasing_outsider/hooks\.py "
                     r"\(did you mean 'request_approved'\?\)", result.output), result.output
