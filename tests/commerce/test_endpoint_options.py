"""A pack endpoint's schema may take a select field's values from the definitions
(``"x-yiti-options": "<entity>.<field>"``, yiti.definitions.options): the request is
checked against the options the site has (a site's overlay adding one included), the
OpenAPI document lists them, and ``yiti check`` reports a reference to no select field."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from yiti.cli import main
from yiti.config import PROJECT_ROOT
from yiti.definitions.options import resolve_options
from yiti.parts import register_all
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app

PACKS = Path(__file__).parent / "packs"
BASE = "/api/v1/x/parcel"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    overlay = tmp_path / "overlay"
    (overlay / "extends").mkdir(parents=True)
    (overlay / "extends" / "parcel.yaml").write_text(
        "extends: parcel\nfields:\n  carrier: {options: [{value: dhl, label: DHL}]}\n",
        encoding="utf-8")
    register_all()
    site = Site(settings_for(db_url, tmp_path, modules=[PROJECT_ROOT / "modules", PACKS],
                             packs=["parcel"], overlay=overlay))
    site.migrate()
    yield site
    site.close()


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return create_app(site=site).test_client()


def test_a_request_is_checked_against_the_fields_options(client):
    # the site's overlay added dhl to the pack's sf and jd: the endpoint takes it too
    for carrier in ("sf", "dhl", None):
        answer = client.post(f"{BASE}/ship", json={"carrier": carrier, "speed": "express"})
        assert answer.status_code == 200 and answer.json == {"carrier": carrier}
    refused = client.post(f"{BASE}/ship", json={"carrier": "ups", "speed": None})
    assert refused.status_code == 422
    assert {(e["field"], e["code"]) for e in refused.json["errors"]} == {
        ("carrier", "enum"), ("speed", "type")}  # speed's type does not allow null
    carrier = next(e for e in refused.json["errors"] if e["field"] == "carrier")
    assert carrier["message"] == "'ups' is not one of ['sf', 'jd', 'dhl', None]"
    assert client.get(f"{BASE}/rates?speed=express").json == {"speed": "express"}
    wrong = client.get(f"{BASE}/rates?speed=slow")
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "speed"


def test_the_openapi_document_lists_the_options(client):
    doc = client.get("/api/v1/openapi.json").json
    ship = doc["paths"][f"{BASE}/ship"]["post"]
    body = ship["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert body["carrier"] == {"type": ["string", "null"], "enum": ["sf", "jd", "dhl", None],
                               "description": "who carries it"}
    assert body["speed"] == {"type": "string", "enum": ["normal", "express"]}
    answer = ship["responses"]["2XX"]["content"]["application/json"]["schema"]
    assert answer["properties"]["carrier"]["enum"] == ["sf", "jd", "dhl", None]
    query = doc["paths"][f"{BASE}/rates"]["get"]["parameters"]
    assert query[0]["schema"] == {"type": "string", "enum": ["normal", "express"]}
    assert "x-yiti-options" not in str(doc)


def test_a_schema_without_references_is_left_as_it_is(site):
    schema = {"type": "object", "properties": {"code": {"type": "string"}}}
    assert resolve_options(schema, site.model) is schema
    assert resolve_options(None, site.model) is None


HOOKS = """
from yiti import api


@api.endpoint("ship", auth="public", request={"type": "object", "properties": {
    "a": {"type": "string", "x-yiti-options": "box.carier"},
    "b": {"type": "string", "x-yiti-options": "bxo.carrier"},
    "c": {"type": "string", "x-yiti-options": "box.weight"},
    "d": {"type": "string", "x-yiti-options": "carrier"},
    "e": {"type": "string", "enum": ["sf"], "x-yiti-options": "box.carrier"},
    "f": {"type": "string", "x-yiti-options": "box.carrier"},
}})
def ship(ctx):
    return {}
"""


def test_yiti_check_reports_a_reference_to_no_select_field(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("YITI_MODULES", "YITI_PACKS", "YITI_OVERLAY", "YITI_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YITI_INSTANCE", str(tmp_path / "instance"))
    pack = f"opt{uuid.uuid4().hex[:10]}"  # its hooks module is imported once per name
    folder = tmp_path / "modules" / pack
    (folder / "entities").mkdir(parents=True)
    (folder / "module.yaml").write_text(f'name: {pack}\nversion: "1"\n', encoding="utf-8")
    (folder / "entities" / "box.yaml").write_text(
        "entity: box\nfields:\n  carrier: {type: select, options: [sf, jd]}\n"
        "  weight: {type: decimal}\n", encoding="utf-8")
    (folder / "hooks.py").write_text(textwrap.dedent(HOOKS).lstrip(), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--modules", "modules"])
    assert result.exit_code == 1, result.output
    at = f"modules/{pack}/hooks.py:4: endpoint ship: request.properties"
    assert result.output.splitlines() == [
        f"{at}.a.x-yiti-options: unknown field 'carier' of 'box'; did you mean 'carrier'?",
        f"{at}.b.x-yiti-options: unknown entity 'bxo'; did you mean 'box'?",
        f"{at}.c.x-yiti-options: box.weight is a decimal field, not a select: it has no "
        "options",
        f"{at}.d.x-yiti-options: 'carrier' is not '<entity>.<field>' (e.g. "
        "'shipment.carrier')",
        f"{at}.e.x-yiti-options: give the values in 'enum' or take them from a field with "
        "'x-yiti-options', not both",
        "5 problem(s) in 1 file(s).",
    ]
