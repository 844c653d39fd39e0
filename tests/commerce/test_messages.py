"""Refusals said in the shopper's language: the pack's messages (``api.message``) and the
engine's (a required field, a number out of bounds) come back in Chinese to a request
that asks for it (``Accept-Language``, or the ``yiti_lang`` cookie the storefront's
switch sets), in English otherwise; ``code`` and ``field`` never change."""

from __future__ import annotations

import subprocess
import sys

from yiti.config import PROJECT_ROOT

from .conftest import level, token_for

X = "/api/v1/x/commerce"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_a_checkout_refused_in_the_shoppers_language(site, shop, client, ann):
    body = {"lines": [{"sku": "SHIRT-1", "qty": 51}]}
    english = client.post(f"{X}/checkout", json=body, headers=ann)
    chinese = client.post(f"{X}/checkout", json=body, headers={**ann, **ZH})
    assert english.status_code == chinese.status_code == 422
    assert english.json["errors"][0] == {
        "field": "lines[0].qty", "code": "invalid",
        "message": "not enough stock of SHIRT-1 in WH-A: 50 available"}
    assert chinese.json["errors"][0] == {
        "field": "lines[0].qty", "code": "invalid",
        "message": "SHIRT-1 在 WH-A 库存不足：仅剩 50 件"}
    assert chinese.json["detail"] == "lines[0].qty: SHIRT-1 在 WH-A 库存不足：仅剩 50 件"
    assert chinese.json["code"] == english.json["code"] == "validation"
    assert level(site, shop["SHIRT-1"], shop["WH-A"])["reserved"] == 0


def test_the_storefront_cookie_chooses_the_language_too(site, shop, client, ann):
    client.set_cookie("yiti_lang", "zh-CN")
    empty = client.post(f"{X}/checkout", json={}, headers=ann)
    assert empty.status_code == 422 and empty.json["errors"][0]["message"] == "购物车是空的"
    coupon = client.post(f"{X}/checkout", json={"lines": [{"sku": "TEA-1"}],
                                                "coupon_code": "NOPE"}, headers=ann)
    assert coupon.json["errors"][0] == {"field": "coupon_code", "code": "invalid",
                                        "message": "没有优惠券 'NOPE'"}


def test_engine_problems_in_chinese(site, shop, client):
    """The engine's own messages (a record refused by the record API) are translated by
    the engine's catalogue, with their values filled in."""
    manager = token_for(site, "mgr", "Shop Manager")
    body = {"title": "x" * 300, "list_price": "-1"}
    bad = client.post("/api/v1/product", json=body, headers={**manager, **ZH})
    assert bad.status_code == 422, bad.json
    messages = {e["field"]: e["message"] for e in bad.json["errors"]}
    assert messages["code"] == "为必填项"
    assert messages["title"].startswith("超过 ") and messages["title"].endswith(" 个字符")
    assert messages["list_price"] == "不能小于 0.00"
    english = client.post("/api/v1/product", json=body, headers=manager).json
    assert {e["field"]: e["message"] for e in english["errors"]}["code"] == "is required"
    assert [e["code"] for e in english["errors"]] == [e["code"] for e in bad.json["errors"]]


def test_every_message_of_the_pack_is_translated(tmp_path):
    """Each ``api.message`` template in the pack's hooks has a zh-CN text."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract",
                    "--no-default-keywords", "-k", "message", "-o", str(pot),
                    str(PROJECT_ROOT / "modules" / "commerce" / "hooks")],
                   check=True, capture_output=True)
    from babel.messages.pofile import read_po

    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with (PROJECT_ROOT / "modules/commerce/i18n/zh-CN.po").open("rb") as fh:
        have = {m.id for m in read_po(fh) if m.id and m.string}
    assert len(wanted) > 20
    assert sorted(wanted - have) == []
