"""The API over a real socket: werkzeug's server in a thread, stdlib http.client."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server


@pytest.fixture
def server(app: Flask) -> Iterator[tuple[str, int]]:
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", srv.server_port
    finally:
        srv.shutdown()
        thread.join(5)
        srv.server_close()


def call(server: tuple[str, int], method: str, path: str, body: object = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], object]:
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})} if data else dict(
            headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        response = conn.getresponse()
        raw = response.read()
        ctype = response.getheader("Content-Type") or ""
        parsed = json.loads(raw) if raw and "json" in ctype else raw.decode()
        return response.status, dict(response.getheaders()), parsed
    finally:
        conn.close()


def test_a_story_over_http(server, make_user, library) -> None:
    lib = make_user("lib", "Librarian")
    bea = make_user("bea", "Borrower")
    status, headers, loan = call(server, "POST", "/api/v1/loan", {
        "contact": library["c1"], "lines": [{"item": library["book"], "deposit": "12.50"}]},
        {**bea, "Idempotency-Key": "loan-1"})
    assert status == 201, loan
    again = call(server, "POST", "/api/v1/loan", {
        "contact": library["c1"], "lines": [{"item": library["book"], "deposit": "12.50"}]},
        {**bea, "Idempotency-Key": "loan-1"})
    assert again[0] == 201 and again[2] == loan
    status, _, page = call(server, "GET", "/api/v1/loan?count=true", headers=lib)
    assert status == 200 and page["count"]["value"] == 1
    status, _, denied = call(server, "GET", "/api/v1/contact", headers=bea)
    assert status == 403 and denied["code"] == "forbidden"
    status, headers, _ = call(server, "GET", f"/api/v1/loan/{loan['id']}", headers=lib)
    assert headers["ETag"] == '"v1"'
    assert "nonce-" in headers["Content-Security-Policy"]
    stale = call(server, "PATCH", f"/api/v1/loan/{loan['id']}", {"due_date": "2030-01-01"},
                 {**bea, "If-Match": '"v0"'})
    assert stale[0] == 409
    hidden = call(server, "GET", f"/api/v1/loan/{loan['id']}", headers=bea)[2]
    assert "late_fee_rate" not in hidden and hidden["lines"][0]["deposit"] == "12.50"
    status, headers, html = call(server, "GET", "/api/v1/")
    assert status == 200 and "/api/v1/loan" in html
