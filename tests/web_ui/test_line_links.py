"""A link to a line on the screens: the form's picker offers only the lines of the
order chosen in the ``within`` input (the order's lines, on the receipt or on its
lines), the list and detail pages name the line by its order, position and title, and
a user who may not read the order gets no line offered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import yiti.web.ui  # noqa: F401 - registers the saved-view table before the site is built
from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.testing import settings_for, write_pack

from ..records.test_line_links import PACK
from .conftest import PASSWORD, Client, csrf


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "receiving", PACK)
    site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"]))
    site.migrate()
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    create_user(site, "rita", PASSWORD, roles=["Receiver"])
    yield site
    site.close()


@pytest.fixture
def orders(site: Site) -> list[dict[str, Any]]:
    recs = site.records()
    return [recs.create("purchase_order", {"supplier": s, "lines": [
        {"sku": f"{s}-1 Shirt"}, {"sku": f"{s}-2 Cap"}]}) for s in ("A", "B")]


def _options(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-id="(\d+)" data-title="([^"]*)"', html)


def test_the_picker_offers_the_lines_of_the_chosen_order_only(client, orders) -> None:
    a, b = orders
    url = "/app/purchase_order_line/lookup?within=purchase_order&field=po_line"
    shown = _options(client.get(f"{url}&purchase_order={a['id']}").get_data(as_text=True))
    assert shown == [(str(a["lines"][0]["id"]), f"{a['name']} #1 · A-1 Shirt"),
                     (str(a["lines"][1]["id"]), f"{a['name']} #2 · A-2 Cap")]
    typed = client.get(f"{url}&purchase_order={b['id']}&po_line.search=cap")
    assert _options(typed.get_data(as_text=True)) == [
        (str(b["lines"][1]["id"]), f"{b['name']} #2 · B-2 Cap")]
    on_a_line = client.get(f"{url}&purchase_order={b['id']}&lines%5B0%5D.po_line.search=B-1")
    assert [i for i, _ in _options(on_a_line.get_data(as_text=True))] == [
        str(b["lines"][0]["id"])]
    empty = client.get(url).get_data(as_text=True)
    assert _options(empty) == [] and "Choose the purchase order first." in empty


def test_the_form_wires_the_picker_to_the_within_input(client) -> None:
    html = client.get("/app/receipt/new").get_data(as_text=True)
    top = html[html.index('name="po_line.search"'):]
    top = top[:top.index(">")]
    assert "within=purchase_order" in top and "field=po_line" in top
    assert "hx-include=\"[name='purchase_order']\"" in top.replace("&#39;", "'")


def test_a_reader_of_receipts_only_is_offered_no_line(app: Flask, site, orders) -> None:
    raw = app.test_client()
    raw.post("/auth/login", data={"name": "rita", "password": PASSWORD,
                                  "csrf_token": csrf(raw), "next": "/app/"})
    rita = Client.__new__(Client)
    rita.raw = raw
    url = (f"/app/purchase_order_line/lookup?within=purchase_order&field=po_line"
           f"&purchase_order={orders[0]['id']}")
    assert _options(raw.get(url).get_data(as_text=True)) == []


def test_list_and_detail_name_the_line(client, site, orders) -> None:
    a = orders[0]
    receipt = site.records().create("receipt", {
        "purchase_order": a["id"], "po_line": a["lines"][1]["id"],
        "lines": [{"po_line": a["lines"][0]["id"]}]})
    listed = client.get("/app/receipt").get_data(as_text=True)
    assert f"{a['name']} #2 · A-2 Cap" in listed
    page = client.get(f"/app/receipt/{receipt['id']}").get_data(as_text=True)
    assert f"{a['name']} #2 · A-2 Cap" in page and f"{a['name']} #1 · A-1 Shirt" in page
    form = client.get(f"/app/receipt/{receipt['id']}/edit").get_data(as_text=True)
    assert f'value="{a["name"]} #2 · A-2 Cap"' in form


def test_saving_the_form_with_a_line_of_another_order_says_so(client, orders) -> None:
    a, b = orders
    answer = client.post("/app/receipt/new", {"purchase_order": str(a["id"]),
                                              "po_line": str(b["lines"][0]["id"])})
    assert answer.status_code == 422
    assert f"line {b['lines'][0]['id']} is not a line of {a['name']}" in \
        answer.get_data(as_text=True)


def test_an_export_names_the_line(client, site, orders) -> None:
    a = orders[0]
    site.records().create("receipt", {"purchase_order": a["id"], "po_line": a["lines"][1]["id"]})
    exported = client.get("/app/receipt/export.csv").get_data(as_text=True)
    assert f"{a['name']} #2 · A-2 Cap" in exported


def test_openapi_says_which_document_the_line_belongs_to(site) -> None:
    from yiti.web.api.openapi import field_schema

    schema = field_schema(site.model, site.model.entities["receipt"].fields["po_line"],
                          output=False)
    assert schema["x-yiti-line-of"] == {"entity": "purchase_order", "within": "purchase_order"}
    assert "the id of a line of the purchase_order that field purchase_order" in \
        schema["description"]
    line = field_schema(site.model, site.model.entities["receipt_line"].fields["po_line"],
                        output=False)
    assert "that the document's field purchase_order names" in line["description"]
