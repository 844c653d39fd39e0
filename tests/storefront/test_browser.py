"""The storefront on a phone in headless Chromium: browse the home page (banners),
a category, search, a product; add to the cart (sent to sign in first), sign in, add
again, check out and land on the order's status page; buy a product now (no cart) and
land on that order's page; then the same home page in
Chinese. No CSP violation, no horizontal scroll at 390 px. Screenshots go to
``test-output/storefront/``. Skips, saying why, without Chromium."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from yiti.config import PROJECT_ROOT
from yiti.web.app import create_app

from .sfshop import PASSWORD, add_customer, build_shop, make_site

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
OUT = PROJECT_ROOT / "test-output" / "storefront"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[str]:
    site = make_site(db_url, tmp_path)
    build_shop(site)
    add_customer(site, "ANN")
    httpd = make_server("127.0.0.1", 0, create_app(site=site), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    site.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                    "chromium) to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def fits(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_phone_buys_through_the_storefront(server: str, browser: Any):
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(f"{server}/p/commerce/")
    assert page.locator(".sf-banner").first.is_visible()
    assert fits(page)
    page.screenshot(path=str(OUT / "home.png"), full_page=True)
    page.click("text=Apparel")
    assert "Running shoe" in page.content()
    page.fill("input[name=q]", "tea")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/search?q=tea")
    page.click("text=Longjing tea")
    page.wait_for_selector(".sf-add")
    assert "50 available" in page.content() and fits(page)
    page.screenshot(path=str(OUT / "product.png"), full_page=True)
    page.click(".sf-add")  # not signed in: to the sign-in page and back
    page.wait_for_url("**/auth/login**")
    page.fill("#name", "ann")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/p/commerce/product/TEA")
    page.click(".sf-add")
    page.wait_for_selector("#sf-toast:not([hidden])")
    page.goto(f"{server}/p/commerce/cart")
    assert "Longjing tea" in page.content() and fits(page)
    page.screenshot(path=str(OUT / "cart.png"), full_page=True)
    page.click("text=Check out")
    page.wait_for_selector("#sf-checkout")
    page.screenshot(path=str(OUT / "checkout.png"), full_page=True)
    page.click("#sf-checkout button[type=submit]")
    page.wait_for_url("**/p/commerce/order/**")
    assert "Awaiting payment" in page.content() and "PAY-" in page.content()
    page.screenshot(path=str(OUT / "order.png"), full_page=True)
    first_order = page.url
    page.goto(f"{server}/p/commerce/product/TEA")  # Buy now: one unit, not the cart
    page.click(".sf-buy")
    page.wait_for_url("**/p/commerce/checkout?sku=TEA-1")
    assert "Longjing tea (one size) × 1" in page.content() and fits(page)
    page.screenshot(path=str(OUT / "buy-now.png"), full_page=True)
    page.click("#sf-checkout button[type=submit]")
    page.wait_for_url(lambda url: "/p/commerce/order/" in url and url != first_order)
    assert "Awaiting payment" in page.content()
    page.goto(f"{server}/p/_language/zh-CN?next=/p/commerce/")
    assert "新品上架" in page.content() and fits(page)
    page.screenshot(path=str(OUT / "home-zh.png"), full_page=True)
    assert seen == []
    context.close()
    print(f"\nscreenshots: {OUT}")
