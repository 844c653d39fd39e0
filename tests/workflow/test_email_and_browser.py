"""The next approver hears of it by e-mail (a local SMTP server), and approves in a real
browser from "My approvals" (headless Chromium; skipped, saying why, without it)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from werkzeug.serving import make_server

from yiti.jobs import FakeClock, JobSettings, SmtpSettings
from yiti.permissions import users
from yiti.site import Site
from yiti.web.app import create_app
from yiti.workflow import install

from .conftest import PEOPLE, actor, build_site

CHROMIUM = Path("/usr/bin/chromium")


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # noqa: ANN001
        self.messages.append(message)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def populated(site: Site) -> None:
    for name, (roles, attributes) in PEOPLE.items():
        users.create_user(site, name, f"{name}-password-1", roles=roles, attributes=attributes,
                          email=f"{name}@example.com", language="zh-CN" if name == "fay" else "en")


def test_next_approvers_get_an_email(db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]):
    inbox, port = smtp
    site = build_site(db_url, tmp_path, FakeClock(), JobSettings(
        smtp=SmtpSettings("127.0.0.1", port, sender="yiti@library.example")))
    try:
        populated(site)
        engine = install(site)
        ann = actor(site, "ann")
        c = site.records(ann).create("expense_claim", {"title": "Books", "amount": "9000"})
        engine.act(ann, "expense_claim", c["id"], "submit")
        engine.act(actor(site, "leo"), "expense_claim", c["id"], "approve")
        site.jobs.drain()
        to = {m["To"]: m for m in inbox.messages}
        assert set(to) == {"leo@example.com", "fay@example.com"}
        assert to["leo@example.com"]["Subject"] == f"Expense claim {c['name']} waits for your approval"
        from email.header import decode_header, make_header

        assert str(make_header(decode_header(to["fay@example.com"]["Subject"]))) == \
            f"报销单 {c['name']} 等待您审批"
    finally:
        site.close()


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Site]]:
    site = build_site(db_url, tmp_path, FakeClock())
    populated(site)
    app = create_app(site=site)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", site
    httpd.shutdown()
    site.close()


@pytest.mark.browser
def test_approve_from_my_approvals_in_a_browser(server: tuple[str, Site]):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    base, site = server
    engine = install(site)
    ann = actor(site, "ann")
    claim = site.records(ann).create("expense_claim", {"title": "Stamps", "amount": "80"})
    engine.act(ann, "expense_claim", claim["id"], "submit")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.goto(f"{base}/workflow/inbox")
            page.fill("#name", "leo")
            page.fill("#password", "leo-password-1")
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/workflow/inbox"))
            row = page.locator(f'[data-record="expense_claim:{claim["id"]}"]')
            assert "Stamps" in row.inner_text()
            row.locator('form[data-action="approve"] button').click()
            page.wait_for_selector("#inbox-empty")
            page.goto(f"{base}/workflow/expense_claim/{claim['id']}")
            assert page.locator("#workflow-state").get_attribute("data-state") == "approved"
            assert "leo" in page.locator(".yiti-wf-history").inner_text()
        finally:
            browser.close()
    assert site.records().get("expense_claim", claim["id"])["state"] == "approved"


@pytest.mark.browser
def test_delegate_on_a_phone_and_the_stand_in_approves(server: tuple[str, Site]):
    """At 390 px: the inbox links to delegations; leo sets one up through the form (an error
    first, shown at its input), sees it active; dan then approves for leo from his inbox.
    No sideways scrolling, no CSP violation; screenshots in test-output/workflow/."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    base, site = server
    out = Path(__file__).resolve().parents[2] / "test-output" / "workflow"
    out.mkdir(parents=True, exist_ok=True)
    engine = install(site)
    ann = actor(site, "ann")
    claim = site.records(ann).create("expense_claim", {"title": "Ink", "amount": "40"})
    engine.act(ann, "expense_claim", claim["id"], "submit")
    fits = "document.documentElement.scrollWidth <= window.innerWidth + 1"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for who in ("leo", "dan"):
                page = browser.new_context(viewport={"width": 390, "height": 844},
                                           is_mobile=True, has_touch=True).new_page()
                csp: list[str] = []
                page.on("console", lambda m, csp=csp: csp.append(m.text)
                        if "Content Security Policy" in m.text else None)
                page.goto(f"{base}/workflow/inbox")
                page.fill("#name", who)
                page.fill("#password", f"{who}-password-1")
                page.click("button[type=submit]")
                page.wait_for_url(re.compile(r"/workflow/inbox"))
                if who == "leo":
                    page.click("#delegations-link")
                    page.wait_for_url(re.compile(r"/workflow/delegations"))
                    assert page.evaluate(fits)
                    page.fill("#to_user", "dna")
                    page.fill("#ends", "2026-01-03")
                    page.click("#delegation-form button[type=submit]")
                    page.wait_for_selector("#to_user-error")
                    assert "no user called 'dna'" in page.inner_text("#to_user-error")
                    assert page.evaluate(fits)
                    page.screenshot(path=str(out / "delegation-error-phone.png"),
                                    full_page=True)
                    page.fill("#to_user", "dan")
                    page.fill("#ends", "2026-01-03")
                    page.click("#delegation-form button[type=submit]")
                    page.wait_for_selector('[data-status="active"]')
                    assert "dan" in page.inner_text('[data-status="active"]')
                    assert page.evaluate(fits)
                    page.screenshot(path=str(out / "delegations-phone.png"), full_page=True)
                else:
                    row = page.locator(f'[data-record="expense_claim:{claim["id"]}"]')
                    assert "leo" in row.inner_text()  # "for leo"
                    assert page.evaluate(fits)
                    row.locator('form[data-action="approve"] button').click()
                    page.wait_for_selector("#inbox-empty")
                assert csp == [], csp
        finally:
            browser.close()
    history = engine.history(actor(site, "ann"), "expense_claim", claim["id"])
    assert (history[-1]["user"], history[-1]["on_behalf_of"]) == ("dan", "leo")
