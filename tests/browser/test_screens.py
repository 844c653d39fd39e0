"""The screens in a real browser: headless Chromium through Playwright.

Sign in → create a loan with lines → see the error on the right line → fix it → filter
the list → export; then the same list at phone width. Screenshots go to
``test-output/browser/`` (printed at the end). Skips, saying why, without Chromium.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import yiti.web.ui  # noqa: F401 - registers the saved-view table before the site is built
from yiti.config import PROJECT_ROOT
from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.testing import load, settings_for
from yiti.web.app import create_app

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
OUT = PROJECT_ROOT / "test-output" / "browser"
PASSWORD = "correct horse battery staple"
XSS = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>"


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Site]]:
    site = Site(settings_for(db_url, tmp_path), model=load(packs=["example", "example_ext"]))
    site.migrate()
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    records = site.records()
    records.create("contact", {"full_name": "Ann Lee", "notes": XSS})
    records.create("contact", {"full_name": XSS})
    records.create_many("item", [{"code": f"BK-{i}", "title": f"Book {i}", "deposit": "20.00"}
                                 for i in range(3)])
    app = create_app(site=site)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", site
    httpd.shutdown()
    site.close()


@pytest.fixture
def browser():  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                    "chromium) to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def watch(page) -> list[str]:  # noqa: ANN001
    """Collect dialogs (an executed alert() would open one) and CSP violations."""
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: seen.append(f"console: {m.text}")
            if "Content Security Policy" in m.text else None)
    return seen


def sign_in(page, base: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/app/loan")
    assert "/auth/login" in page.url
    page.fill("#name", "clerk")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/app/loan"))


def pick(page, input_name: str, text: str) -> None:  # noqa: ANN001
    """Type into a link input and choose the first suggestion."""
    box = page.locator(f'input[name="{input_name}.search"]')
    box.fill(text)
    option = box.locator("xpath=..").locator(".yiti-option", has_text=text).first
    option.wait_for()
    option.click()


def test_create_fix_filter_export(server, browser, tmp_path):
    base, site = server
    OUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    problems = watch(page)
    sign_in(page, base)

    page.goto(f"{base}/app/loan/new")
    pick(page, "contact", "Ann")
    pick(page, "lines[0].item", "BK-0")
    page.click(".yiti-add-line")
    pick(page, "lines[1].item", "BK-1")
    page.fill('input[name="lines[1].qty"]', "0")  # refused: at least 1
    page.screenshot(path=str(OUT / "form.png"), full_page=True)
    page.click("#save")
    page.wait_for_selector("#form-errors")
    bad = page.locator('input[name="lines[1].qty"]')
    assert "is-invalid" in (bad.get_attribute("class") or "")
    assert page.locator("#lines\\[1\\]\\.qty-error").is_visible()
    assert "is-invalid" not in (page.locator('input[name="lines[0].qty"]')
                                .get_attribute("class") or "")
    page.screenshot(path=str(OUT / "form-error.png"), full_page=True)
    page.fill('input[name="lines[1].qty"]', "2")
    page.click("#save")
    page.wait_for_selector("#history")
    assert site.records().count("loan").value == 1
    assert page.locator("text=BK-1 · Book 1").count() == 1

    page.goto(f"{base}/app/contact")
    page.fill("#q", "Ann")
    from playwright.sync_api import expect

    expect(page.locator("#list-count")).to_contain_text("1–1 of 1")
    assert "q=Ann" in page.url  # the filter is in the address, so it can be shared
    page.screenshot(path=str(OUT / "list.png"), full_page=True)
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "export.csv"
    download.value.save_as(path)
    text = path.read_text("utf-8-sig")
    assert "Ann Lee" in text and "alert" not in text  # only the filtered row

    page.goto(f"{base}/app/contact/{site.records().list('contact').rows[0]['id']}")
    page.goto(f"{base}/app/contact")
    assert problems == [], problems  # no alert() ran, nothing blocked by the CSP
    print(f"\nscreenshots: {OUT}")


def test_changing_a_select_shows_a_conditional_field(server, browser):
    """forms/loan.yaml: returned_at is shown (and required) only for a returned loan; the
    server decides, the page asks it without reloading."""
    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = watch(page)
    sign_in(page, base)
    page.goto(f"{base}/app/loan/new")
    box = page.locator('.yiti-conditional[data-field="returned_at"]')
    mark = page.locator('.yiti-required-mark[data-for="returned_at"]')
    assert not box.is_visible()
    page.select_option("#status", "returned")
    box.wait_for(state="visible")
    assert mark.is_visible()
    assert page.locator("#returned_at").get_attribute("aria-required") == "true"
    page.select_option("#status", "open")
    box.wait_for(state="hidden")
    assert page.url.endswith("/app/loan/new")  # no reload
    assert problems == [], problems


def test_phone_width(server, browser):
    base, _ = server
    OUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                            has_touch=True)
    problems = watch(page)
    sign_in(page, base)
    page.goto(f"{base}/app/contact")
    assert page.locator(".navbar-toggler").is_visible()  # navigation collapsed
    assert not page.locator("#yiti-nav").is_visible()
    page.click(".navbar-toggler")
    page.wait_for_selector("#yiti-nav.show")
    page.click(".navbar-toggler")
    # The page itself does not scroll sideways; the table does.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    page.screenshot(path=str(OUT / "list-phone.png"), full_page=True)
    page.goto(f"{base}/app/loan/new")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(OUT / "form-phone.png"), full_page=True)
    assert problems == [], problems
    print(f"\nscreenshots: {OUT}")
