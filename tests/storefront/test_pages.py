# ruff: noqa: F811 - the fixtures are imported from sfshop and then requested by name
"""The storefront's pages through Flask's test client: what they show (channel prices,
stock, promotions, related products; English and Chinese), the cart → checkout → order
status flow through the commerce endpoints, and caching: public pages are cached and
carry nothing personal, the customer's own pages are never cached."""

from __future__ import annotations

from .sfshop import add_customer, client, shop, sign_in, site  # noqa: F401 - fixtures

P = "/p/commerce"
X = "/api/v1/x/commerce"


def test_home_shows_banners_categories_and_products(client):
    page = client.get(f"{P}/")
    assert page.status_code == 200
    text = page.text
    assert "Double 11 shirt" in text and "¥49.00" in text and "100 left" in text
    assert "Spend ¥200.00, save ¥30.00" in text
    assert "Apparel" in text and "Tea" in text
    for title in ("Silk shirt", "Longjing tea", "Running shoe"):
        assert title in text
    assert f'href="{P}/product/SHOE"' in text
    assert 'name="viewport"' in text


def test_product_page_shows_the_channel_price_stock_and_related(client, site, shop):
    online = client.get(f"{P}/product/TEA").text
    wechat = client.get(f"{P}/product/TEA?channel=WECHAT").text
    assert "¥60.00" in online and "50 available" in online
    assert "¥55.00" in wechat and "¥60.00" in wechat  # the WeChat price, list price struck
    shirt = client.get(f"{P}/product/SHIRT").text
    assert "Flash sale" in shirt and "¥49.00" in shirt and "At most 1 per customer" in shirt
    shoe = client.get(f"{P}/product/SHOE").text
    assert "Silk shirt" in shoe and "Upgrade" in shoe  # the up-sell
    assert "12.34" not in shoe and "cost" not in shoe  # the guest can't read costs
    assert client.get(f"{P}/product/NOPE").status_code == 404
    assert client.get(f"{P}/?channel=NOPE").status_code == 404


def test_category_and_search(client):
    tops = client.get(f"{P}/category/TOPS").text
    assert "Silk shirt" in tops and "Longjing tea" not in tops
    apparel = client.get(f"{P}/category/APPAREL").text
    assert "Running shoe" in apparel and f'{P}/category/TOPS' in apparel
    found = client.get(f"{P}/search?q=tea").text
    assert "Longjing tea" in found and "Silk shirt" not in found
    assert "No products here yet." in client.get(f"{P}/search?q=zzz").text


def test_chinese_pages(client):
    zh = client.get(f"{P}/product/TEA", headers={"Accept-Language": "zh-CN"}).text
    assert "加入购物车" in zh and "有货 50 件" in zh and 'lang="zh-CN"' in zh
    client.get(f"/p/_language/zh-CN?next={P}/")
    assert "新品上架" in client.get(f"{P}/").text


def test_public_pages_are_cached_and_hold_nothing_personal(client, site):
    first = client.get(f"{P}/product/TEA")
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert client.get(f"{P}/product/TEA").headers["X-Yiti-Cache"] == "hit"
    for path in ("/", "/category/TEA", "/search?q=tea"):
        assert client.get(P + path).headers["Cache-Control"].startswith("public")
    assert "csrf" not in first.text.lower()
    add_customer(site, "ANN")
    sign_in(client, "ann")
    signed_in = client.get(f"{P}/product/TEA")
    assert signed_in.headers["Cache-Control"] == "private, no-cache"
    assert "X-Yiti-Cache" not in signed_in.headers
    assert "Customer ANN" not in signed_in.text and "ann" not in signed_in.text.split()


def test_personal_pages_need_a_customer_and_are_never_cached(client, site):
    for path in ("/cart", "/checkout", "/orders", "/order/SO-1"):
        refused = client.get(P + path)
        assert refused.status_code == 302 and "/auth/login" in refused.headers["Location"]
    add_customer(site, "ANN")
    sign_in(client, "ann")
    for path in ("/cart", "/checkout", "/orders"):
        page = client.get(P + path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["Cache-Control"] == "private, no-store"
        assert "public" not in page.headers["Cache-Control"]


def test_cart_checkout_pay_and_order_status(client, site, shop):
    hooks = __import__("sys").modules["yiti_packs.commerce.hooks"]
    add_customer(site, "ANN")
    csrf = sign_in(client, "ann")
    h = {"X-CSRFToken": csrf}
    assert "Your cart is empty." in client.get(f"{P}/cart").text
    assert client.post(f"{X}/cart/add", json={"sku": "TEA-1", "qty": 2},
                       headers=h).status_code == 200
    assert client.post(f"{X}/cart/add", json={"sku": "SHOE-1", "qty": 1},
                       headers=h).status_code == 200
    cart = client.get(f"{P}/cart").text
    assert "Longjing tea" in cart and 'value="2"' in cart
    assert "¥270.00" in cart and "¥240.00" in cart  # 120 + 150, less 30 (满200减30)
    checkout = client.get(f"{P}/checkout").text
    assert "Customer ANN" in checkout and "1 Nanjing Road" in checkout
    key = checkout.split('data-key="', 1)[1].split('"', 1)[0]
    placed = client.post(f"{X}/checkout", json={"ship_to_name": "Ann",
                                                 "ship_to_address": "1 Nanjing Road"},
                         headers={**h, "Idempotency-Key": key})
    assert placed.status_code == 201, placed.json
    name = placed.json["name"]
    paying = client.post(f"{X}/orders/pay", json={"order": name, "provider": "test"},
                         headers=h)
    assert paying.status_code == 201
    status = client.get(f"{P}/order/{name}").text
    assert "Awaiting payment" in status and "¥240.00" in status and "Cancel order" in status
    assert name in client.get(f"{P}/orders").text
    # the provider calls back: the order is paid
    provider = hooks.payments.test_provider(site.records())
    headers, body = provider.callback(paying.json["payment"], "TXN-1",
                                      paying.json["amount"], hooks.common.now(site.records()))
    assert client.post(f"{X}/payments/test/callback", data=body,
                       headers=headers).status_code == 200
    paid = client.get(f"{P}/order/{name}").text
    assert "Paid" in paid and "Cancel order" not in paid and "Succeeded" in paid
    # another customer can't see it
    other = client.application.test_client()
    add_customer(site, "BOB")
    sign_in(other, "bob")
    assert other.get(f"{P}/order/{name}").status_code == 404


def test_buy_now_checks_out_one_unit_and_leaves_the_cart(client, site, shop):
    """The product page's *Buy now* opens the checkout page for one unit of that SKU,
    priced as the cart would be; placing it orders that SKU alone."""
    add_customer(site, "ANN")
    product = client.get(f"{P}/product/TEA").text
    assert f'href="{P}/checkout?sku=TEA-1"' in product and "Buy now" in product
    assert "立即购买" in client.get(f"{P}/product/TEA",
                                  headers={"Accept-Language": "zh-CN"}).text
    assert client.get(f"{P}/checkout?sku=TEA-1").status_code == 302  # sign in first
    csrf = sign_in(client, "ann")
    h = {"X-CSRFToken": csrf}
    client.post(f"{X}/cart/add", json={"sku": "SHOE-1", "qty": 1}, headers=h)
    page = client.get(f"{P}/checkout?sku=TEA-1")
    assert page.status_code == 200
    assert 'data-sku="TEA-1"' in page.text and "Longjing tea (one size) × 1" in page.text
    assert "Running shoe" not in page.text and "Place order and pay ¥68.00" in page.text
    assert client.get(f"{P}/checkout?sku=NOPE-1").status_code == 404
    key = page.text.split('data-key="', 1)[1].split('"', 1)[0]
    placed = client.post(f"{X}/checkout", json={
        "ship_to_name": "Ann", "ship_to_address": "1 Nanjing Road",
        "lines": [{"sku": "TEA-1", "qty": 1}]}, headers={**h, "Idempotency-Key": key})
    assert placed.status_code == 201, placed.json
    assert [line["qty"] for line in placed.json["lines"]] == [1]
    assert placed.json["grand_total"] == "68.00"  # 60.00 and shipping
    assert "Running shoe" in client.get(f"{P}/cart").text  # the cart is as it was


def test_stock_shown_follows_sales_within_the_cache_time(client, site, shop):
    assert "50 available" in client.get(f"{P}/product/SHOE").text
    add_customer(site, "ANN")
    buyer = client.application.test_client()
    csrf = sign_in(buyer, "ann")
    buyer.post(f"{X}/cart/add", json={"sku": "SHOE-1", "qty": 3}, headers={"X-CSRFToken": csrf})
    assert buyer.post(f"{X}/checkout", json={}, headers={"X-CSRFToken": csrf}).status_code == 201
    client.application.extensions["yiti_page_cache"].clear()  # as when 5 s have passed
    assert "47 available" in client.get(f"{P}/product/SHOE").text


def test_the_product_api_answers_with_related_products(client):
    answer = client.get(f"{X}/catalogue/product?code=SHOE")
    assert answer.status_code == 200, answer.json
    assert answer.json["related"] == [{"kind": "up_sell", "product": "SHIRT", "price": "95.00"}]
