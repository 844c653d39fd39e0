"""The commerce pack's generated screens on a phone (390 px), in Chinese and English:
the list, the record page with its lines and history, and the form. Nothing scrolls
sideways: a list's rows and a record's lines are stacked (they were tables wider than the
screen), the filter bar folds behind a button, and every screen string is in the reader's
language (the history said "adjust" on a stock level's page in Chinese). Screenshots go
to ``test-output/browser/``."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.web.app import create_app

from ..commerce.conftest import build_shop, make_site
from .test_screens import OUT, PASSWORD, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
#: Words on the Chinese screens that are no one's to translate: the brand, file formats,
#: the time zone, currency and unit codes, a user name.
NOT_WORDS = {"Yiti", "CSV", "XLSX", "GMT", "CNY", "Asia", "Shanghai", "system", "SKU"}


@pytest.fixture
def shop(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Site, dict[str, Any]]]:
    from ..commerce.test_checkout import place

    site = make_site(db_url, tmp_path)
    ids = build_shop(site)
    ids["order"] = place(site, ids)["id"]
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    httpd = make_server("127.0.0.1", 0, create_app(site=site), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", site, ids
    httpd.shutdown()
    site.close()


def data_words(site: Site) -> set[str]:
    """Every word of the shop's own data (codes, titles), which stay as entered."""
    words: set[str] = set()
    for entity in site.model.entities.values():
        if entity.child:
            continue
        for row in site.records().list(entity.name, limit=200).rows:
            for value in row.values():
                if isinstance(value, str):
                    words.update(re.findall(r"[A-Za-z]{3,}", value))
    return words


OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('main *')) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) wide.push(el.tagName + '.' + el.className);
  }
  return {page: document.documentElement.scrollWidth, wide: wide.slice(0, 5)};
}"""


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_commerce_screens_fit_a_phone_in_the_readers_language(shop, browser, lang):  # noqa: F811
    base, site, ids = shop
    OUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True, locale=lang)
    page.goto(f"{base}/app/")
    page.fill("#name", "clerk")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/app/")
    assert page.locator("html").get_attribute("lang") == lang  # the browser's language
    level = site.records().list("stock_level", limit=1).rows[0]["id"]
    screens = {
        "order-list": "/app/sales_order", "order": f"/app/sales_order/{ids['order']}",
        "order-form": f"/app/sales_order/{ids['order']}/edit",
        "product-list": "/app/product", "product": f"/app/product/{ids['SHIRT']}",
        "product-form": f"/app/product/{ids['SHIRT']}/edit",
        "stock-level": f"/app/stock_level/{level}",
    }
    ours = data_words(site) | NOT_WORDS
    for name, url in screens.items():
        assert page.goto(base + url).status == 200, url
        page.screenshot(path=str(OUT / f"phone-{lang}-{name}.png"), full_page=True)
        shown = page.evaluate(OVERFLOW)
        assert shown == {"page": 390, "wide": []}, (url, shown)
        if lang == "zh-CN":
            text = page.evaluate("() => document.querySelector('main').innerText")
            english = set(re.findall(r"[A-Za-z]{3,}", text)) - ours
            assert not english, (url, english)

    page.goto(f"{base}/app/sales_order")
    assert not page.locator("#filter-bar").is_visible()  # folded: the rows come first
    page.click(".yiti-filters-toggle")
    page.wait_for_selector("#filter-bar.show")
    assert page.locator("#q").is_visible()
    cells = page.locator("table.yiti-list tbody tr").first.locator("td[data-label]")
    assert cells.count() >= 5  # each cell a "label value" line of the row's card
    page.goto(f"{base}/app/sales_order?q=SO")
    assert page.locator("#filter-bar").is_visible()  # a filter set: shown open
