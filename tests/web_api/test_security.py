"""Sessions, CSRF, login throttling, fresh sign-in, security headers and cookies."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from yiti.permissions import users
from yiti.web.auth.throttle import Limits


def test_csrf_is_required_with_a_session_cookie(client: FlaskClient, make_user, sign_in) -> None:
    make_user("lib", "Librarian")
    csrf = sign_in(client, "lib")
    no_token = client.post("/api/v1/item", json={"code": "A", "title": "A"})
    assert no_token.status_code == 403 and no_token.json["code"] == "csrf"
    form = client.post("/auth/logout")
    assert form.status_code == 400
    assert client.get("/api/v1/_me").status_code == 200  # still signed in
    ok = client.post("/api/v1/item", json={"code": "A", "title": "A"}, headers=csrf)
    assert ok.status_code == 201


def test_login_without_csrf_token_is_refused(client: FlaskClient, make_user) -> None:
    make_user("lib", "Librarian")
    response = client.post("/auth/login", data={"name": "lib", "password": "lib-password"})
    assert response.status_code == 400


def test_login_flood_is_throttled(app: Flask, client: FlaskClient, make_user, csrf_from) -> None:
    make_user("lib", "Librarian")
    token = csrf_from(client.get("/auth/login").get_data(as_text=True))
    codes = [client.post("/auth/login", data={"name": "lib", "password": "wrong",
                                               "csrf_token": token}).status_code
             for _ in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    right = client.post("/auth/login", data={"name": "lib", "password": "lib-password",
                                             "csrf_token": token})
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    # Per address too: many names from one address.
    limits = Limits(per_user=100, per_address=3)
    app.extensions["yiti_throttle"].limits = limits
    other = [client.post("/auth/login", data={"name": f"u{i}", "password": "x",
                                               "csrf_token": token}).status_code
             for i in range(5)]
    assert 429 in other


def test_logout_ends_the_session(client: FlaskClient, make_user, sign_in) -> None:
    make_user("lib", "Librarian")
    csrf = sign_in(client, "lib")
    cookie = client.get_cookie("yiti_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    stolen = cookie.value
    assert client.post("/auth/logout", data={"csrf_token": csrf["X-CSRFToken"]}
                       ).status_code == 302
    assert client.get("/api/v1/_me").status_code == 401
    client.set_cookie("yiti_session", stolen)  # the old id is worth nothing now
    assert client.get("/api/v1/_me").status_code == 401


def test_password_change_ends_every_session(app: Flask, site, make_user, sign_in) -> None:
    make_user("lib", "Librarian")
    laptop, phone = app.test_client(), app.test_client()
    csrf = sign_in(laptop, "lib")
    sign_in(phone, "lib")
    changed = laptop.post("/auth/password", data={
        "current": "lib-password", "new": "a-new-password", "confirm": "a-new-password",
        "csrf_token": csrf["X-CSRFToken"]})
    assert changed.status_code == 302
    assert phone.get("/api/v1/_me").status_code == 401
    assert laptop.get("/api/v1/_me").status_code == 401
    sign_in(phone, "lib", "a-new-password")
    users.set_password(site, "lib", "yet-another-one")  # an administrator, from the CLI
    assert phone.get("/api/v1/_me").status_code == 401


def test_sensitive_changes_need_a_fresh_sign_in(app: Flask, client: FlaskClient,
                                                make_user, sign_in, csrf_from) -> None:
    token_auth = make_user("root", "Administrator")
    assert client.post("/api/v1/_me/tokens", json={"scopes": ["read:*"]},
                       headers=token_auth).json["code"] == "reauth_required"
    csrf = sign_in(client, "root")
    created = client.post("/api/v1/_me/tokens", json={"scopes": ["read:item"]}, headers=csrf)
    assert created.status_code == 201 and created.json["token"].startswith("yt_")
    with client.session_transaction() as session:
        session["auth_at"] = 0  # signed in long ago
    stale = client.put("/api/v1/_admin/permissions/access/Clerk/item",
                       json={"actions": []}, headers=csrf)
    assert stale.status_code == 401 and stale.json["code"] == "reauth_required"
    page = client.get("/auth/reauth")
    confirmed = client.post("/auth/reauth", data={
        "password": "root-password", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert confirmed.status_code == 302
    assert client.put("/api/v1/_admin/permissions/access/Clerk/item", json={"actions": []},
                      headers=csrf).status_code == 200
    new_token = {"Authorization": f"Bearer {created.json['token']}"}
    assert client.get("/api/v1/item", headers=new_token).status_code == 200
    assert client.delete(f"/api/v1/_me/tokens/{created.json['id']}",
                         headers=csrf).status_code == 204
    assert client.get("/api/v1/item", headers=new_token).status_code == 401


def test_security_headers_and_csp_nonce_on_pages(client: FlaskClient) -> None:
    for path in ("/auth/login", "/api/v1/"):
        response = client.get(path)
        assert response.status_code == 200
        csp = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        html = response.get_data(as_text=True)
        tags = re.findall(r"<(script|style)\b([^>]*)>", html)
        assert tags, path
        assert all(f'nonce="{nonce}"' in attrs for _, attrs in tags), path
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    first = client.get("/auth/login").headers["Content-Security-Policy"]
    assert first != client.get("/auth/login").headers["Content-Security-Policy"]


def test_cookie_is_secure_over_https(client: FlaskClient, make_user, csrf_from) -> None:
    make_user("lib", "Librarian")
    page = client.get("/auth/login", base_url="https://localhost")
    response = client.post("/auth/login", base_url="https://localhost", data={
        "name": "lib", "password": "lib-password",
        "csrf_token": csrf_from(page.get_data(as_text=True))},
        headers={"Referer": "https://localhost/auth/login"})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in response.headers


def test_bad_or_missing_credentials_are_401(client: FlaskClient) -> None:
    assert client.get("/api/v1/item").status_code == 401
    bad = client.get("/api/v1/item", headers={"Authorization": "Bearer yt_1_nope-nope-nope"})
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/auth/password").status_code == 302


def test_behind_a_proxy_the_client_address_and_scheme_come_from_its_headers(
        site, make_user, csrf_from) -> None:
    from yiti.web.app import create_app

    make_user("lib", "Librarian")
    https = {"X-Forwarded-Proto": "https"}
    direct = create_app(site=site).test_client()
    assert "Strict-Transport-Security" not in direct.get("/auth/login", headers=https).headers
    proxied_app = create_app(site.settings.with_(proxy_hops=1), site=site)
    proxied = proxied_app.test_client()
    assert "Strict-Transport-Security" in proxied.get("/auth/login", headers=https).headers

    def failed_sign_ins(client, app, addresses):  # noqa: ANN001, ANN202
        app.extensions["yiti_throttle"].limits = Limits(per_user=100, per_address=3)
        token = csrf_from(client.get("/auth/login").get_data(as_text=True))
        return [client.post("/auth/login", headers={"X-Forwarded-For": address}, data={
            "name": f"u{i}", "password": "x", "csrf_token": token}).status_code
            for i, address in enumerate(addresses)]

    # each visitor behind the proxy has their own count; one visitor is still throttled
    assert 429 not in failed_sign_ins(proxied, proxied_app,
                                      [f"203.0.113.{i}" for i in range(5)])
    assert 429 in failed_sign_ins(proxied, proxied_app, ["198.51.100.7"] * 5)
    # without YITI_PROXY_HOPS the header is the client's say-so: ignored
    direct_app = create_app(site=site)
    assert 429 in failed_sign_ins(direct_app.test_client(), direct_app,
                                  [f"192.0.2.{i}" for i in range(5)])
