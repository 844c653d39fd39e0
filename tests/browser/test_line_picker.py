"""A link to a line in a real browser: the picker offers the lines of the order chosen
in the form, and choosing another order (or clearing it) clears the line chosen from the
old one, on the receipt and on its lines. Skips, saying why, without Chromium."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import yiti.web.ui  # noqa: F401 - registers the saved-view table before the site is built
from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.testing import load, settings_for, write_pack
from yiti.web.app import create_app

from ..records.test_line_links import PACK
from .test_screens import PASSWORD, browser, pick, watch  # noqa: F401 - browser: a fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Site]]:
    modules = tmp_path / "packs"
    write_pack(modules, "receiving", PACK)
    site = Site(settings_for(db_url, tmp_path, modules=[modules]), model=load([modules]))
    site.migrate()
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    for supplier in ("Acme", "Bolt"):
        site.records().create("purchase_order", {"supplier": supplier, "lines": [
            {"sku": f"{supplier}-1 Shirt"}, {"sku": f"{supplier}-2 Cap"}]})
    httpd = make_server("127.0.0.1", 0, create_app(site=site), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}", site
    httpd.shutdown()
    site.close()


def test_choosing_another_order_clears_the_line_chosen_from_the_old_one(server, browser):  # noqa: F811
    base, site = server
    first, second = site.records().list("purchase_order", sort=["id"]).rows
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems = watch(page)
    page.goto(f"{base}/app/receipt/new")
    page.fill("#name", "clerk")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app/receipt/new"))

    pick(page, "purchase_order", first["name"])
    pick(page, "po_line", "Cap")  # offered: the first order's lines only
    pick(page, "lines[0].po_line", "Shirt")
    line = page.locator('input[name="po_line"]')
    assert line.input_value() != ""
    assert page.locator('input[name="po_line.search"]').input_value() == \
        f"{first['name']} #2 · Acme-2 Cap"

    pick(page, "purchase_order", second["name"])  # another order: its lines, not these
    assert line.input_value() == ""
    assert page.locator('input[name="po_line.search"]').input_value() == ""
    assert page.locator('input[name="lines[0].po_line"]').input_value() == ""
    page.locator('input[name="po_line.search"]').focus()
    offered = page.locator('input[name="po_line.search"]').locator("xpath=..").locator(
        ".yiti-option")
    from playwright.sync_api import expect

    expect(offered).to_have_text([f"{second['name']} #1 · Bolt-1 Shirt",
                                  f"{second['name']} #2 · Bolt-2 Cap"])  # its lines only
    offered.nth(1).click()
    page.click("#save")
    page.wait_for_selector("#history")
    (receipt,) = site.records().list("receipt").rows
    assert receipt["purchase_order"] == second["id"]
    assert receipt["po_line"] == site.records().get("purchase_order", second["id"])[
        "lines"][1]["id"]
    assert problems == [], problems
