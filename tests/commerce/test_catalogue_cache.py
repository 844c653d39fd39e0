"""What pricing reads is kept per process for a few seconds (hooks/quotes.py): a change
saved here shows at once, a change made elsewhere within CATALOGUE_SECONDS, and the
counters (flash-sale units left, stock) are never taken from it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import update

from .conftest import START, hooks


def quote_of(site, shop, sku="TEA-1", qty=1):
    r = site.records()
    return hooks().quotes.quote(r, channel=r.get("channel", shop["ONLINE"]), customer=None,
                                lines=[(shop[sku], qty)], coupon_code=None, at=START).quote


@pytest.fixture
def kept(site, monkeypatch):
    """No quiet period left from building the shop: the catalogue is kept from now on."""
    quotes = hooks().quotes
    quotes._kept_for(site).quiet_until = 0.0
    monkeypatch.setattr(quotes, "CATALOGUE_SECONDS", 60.0)
    return quotes


def test_a_change_saved_here_shows_at_once(site, shop, kept):
    assert quote_of(site, shop).lines[0].unit_price == D("60.00")
    assert kept.catalogue(site.records()).skus  # kept now
    r = site.records()
    r.update("product", shop["TEA"], {"list_price": "65.00"})
    assert quote_of(site, shop).lines[0].unit_price == D("65.00")
    r.create("channel_price", {"channel": shop["ONLINE"], "sku": shop["TEA-1"],
                               "price": "58.00"})
    assert quote_of(site, shop).lines[0].unit_price == D("58.00")


def test_a_change_made_elsewhere_shows_when_the_kept_catalogue_expires(site, shop, kept,
                                                                       monkeypatch):
    assert quote_of(site, shop).lines[0].unit_price == D("60.00")
    product = site.tables["product"]
    with site.engine.begin() as conn:  # as another process would, unseen by this one
        conn.execute(update(product).where(product.c.id == shop["TEA"])
                     .values(list_price=D("70.00")))
    assert quote_of(site, shop).lines[0].unit_price == D("60.00")  # kept
    monkeypatch.setattr(kept, "CATALOGUE_SECONDS", 0.0)
    assert quote_of(site, shop).lines[0].unit_price == D("70.00")


def test_a_sold_out_flash_sale_is_refused_before_anything_is_written(site, shop, kept):
    from yiti.errors import ValidationError

    r = site.records()
    r.create("promotion", {"code": "FL", "title": "Flash tea", "kind": "flash_sale",
                           "scope": "sku", "sku": shop["TEA-1"], "flash_price": "9.90",
                           "total_qty": 1})
    kept._kept_for(site).quiet_until = 0.0
    place = hooks().orders.place
    order = place(r, channel=r.get("channel", shop["ONLINE"]),
                  customer=r.get("customer", shop["ANN"]), lines=[(shop["TEA-1"], 1)])
    assert order["lines"][0]["unit_price"] - order["lines"][0]["discount"] == D("9.90")
    orders = r.count("sales_order").value
    with pytest.raises(ValidationError, match="Flash tea is sold out"):
        place(r, channel=r.get("channel", shop["ONLINE"]),
              customer=r.get("customer", shop["BOB"]), lines=[(shop["TEA-1"], 1)])
    with pytest.raises(ValidationError, match="not enough stock of SHOE-1 in WH-A: 50"):
        place(r, channel=r.get("channel", shop["ONLINE"]),
              customer=r.get("customer", shop["BOB"]), lines=[(shop["SHOE-1"], 51)])
    assert r.count("sales_order").value == orders  # neither refused order left anything


def test_skus_and_channels_are_found_by_code_in_the_kept_catalogue(site, shop, kept):
    """The cart's steps name a SKU by code and the channel by code or not at all: kept,
    these cost no query; a code changed here is found under its new code at once."""
    from sqlalchemy import event

    from yiti.errors import ValidationError

    r = site.records()
    cat = kept.catalogue(r)
    assert cat.sku(r, "TEA-1")["id"] == shop["TEA-1"]
    assert cat.sku(r, str(shop["TEA-1"]))["code"] == "TEA-1"
    assert cat.channel_named(r, None)["id"] == shop["ONLINE"]
    assert cat.channel_named(r, "ONLINE")["id"] == shop["ONLINE"]
    sent: list[str] = []

    def listen(*args):
        sent.append(args[2])

    event.listen(site.engine, "before_cursor_execute", listen)
    try:
        assert kept.catalogue(r).sku(r, "TEA-1")["id"] == shop["TEA-1"]
        assert kept.catalogue(r).sku(r, {"id": shop["TEA-1"]})["code"] == "TEA-1"
        assert kept.catalogue(r).channel_named(r, None)["code"] == "ONLINE"
        assert kept.catalogue(r).channel_named(r, str(shop["ONLINE"]))["code"] == "ONLINE"
    finally:
        event.remove(site.engine, "before_cursor_execute", listen)
    assert sent == []
    with pytest.raises(ValidationError) as refused:
        cat.sku(r, "NO-SUCH", "lines[0].sku")
    assert refused.value.problems[0].field == "lines[0].sku"
    assert "no sku 'NO-SUCH'" in str(refused.value)

    r.update("sku", shop["TEA-1"], {"code": "TEA-1B"})
    with pytest.raises(ValidationError):
        kept.catalogue(r).sku(r, "TEA-1")
    assert kept.catalogue(r).sku(r, "TEA-1B")["id"] == shop["TEA-1"]
