"""The app under its production server (granian, as docs/architecture.md runs it: two
processes of two Python threads) over real sockets: a flash sale at small scale on
PostgreSQL with the invariants of bench/double11.py, and what the server itself must get
right (keep-alive, clients that stall while sending their headers, a body too large)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from yiti.config import PROJECT_ROOT
from yiti.permissions import tokens, users
from yiti.site import Site

from .sfshop import build_shop, invariants, make_site

X = "/api/v1/x/commerce"
BUYERS, ORDINARY, STOCK = 40, 10, 10


@contextmanager
def serve(url: str, tmp_path: Path) -> Iterator[int]:
    """granian serving the commerce pack over ``url`` on a free port; stopped afterwards."""
    granian = Path(sys.executable).with_name("granian")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "YITI_PACKS": "commerce",
           "YITI_INSTANCE": str(tmp_path / "instance"), "SECRET_KEY": "test-secret",
           "PYTHONPATH": str(PROJECT_ROOT / "platform")}
    env.pop("REDIS_URL", None)
    log = (tmp_path / "granian.log").open("w")
    server = subprocess.Popen(
        [str(granian), "--interface", "wsgi", "--workers", "2", "--blocking-threads", "2",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--workers-kill-timeout", "5", "--factory", "yiti.web.app:create_app"],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)  # its own process group: nothing outlives the test
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = call(port, "GET", "/p/commerce/")
                if status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("granian did not start: "
                                     + (tmp_path / "granian.log").read_text()[-2000:])
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:  # the workers too, not only their parent
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


def call(port: int, method: str, path: str, body: object = None,
         headers: dict[str, str] | None = None,
         conn: http.client.HTTPConnection | None = None) -> tuple[int, object]:
    """One request (on ``conn``, kept open, when given); the status and the parsed JSON."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={
            **({"Content-Type": "application/json"} if data else {}), **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        kind = response.getheader("Content-Type") or ""
        return response.status, json.loads(raw) if "json" in kind else raw
    finally:
        if own:
            conn.close()


def shoppers(site: Site, n: int) -> list[dict[str, str]]:
    r = site.records()
    headers = []
    for i in range(n):
        r.create("customer", {"code": f"B{i}", "full_name": f"Buyer {i}", "user": f"buyer{i}"})
        ident = users.create_user(site, f"buyer{i}", None, roles=["Customer"],
                                  attributes={"customer": f"B{i}"})
        token = tokens.create_token(site, ident, ("*",))[0]
        headers.append({"Authorization": f"Bearer {token}"})
    return headers


def opened(url: str, tmp_path: Path) -> Iterator[Site]:
    site = make_site(url, tmp_path)
    try:
        yield site
    finally:
        site.close()


@pytest.fixture
def shop_site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from opened(db_url, tmp_path)


@pytest.fixture
def postgres_shop_site(postgres_db_url: str, tmp_path: Path) -> Iterator[Site]:
    yield from opened(postgres_db_url, tmp_path)


@pytest.mark.postgres_only
def test_a_flash_sale_under_the_production_server(postgres_shop_site: Site,
                                                  postgres_db_url: str,
                                                  tmp_path: Path) -> None:
    shop_site, db_url = postgres_shop_site, postgres_db_url
    shop = build_shop(shop_site, stock=STOCK)
    headers = shoppers(shop_site, BUYERS + ORDINARY)
    skus = ["SHIRT-1" if i < BUYERS else "TEA-1" for i in range(len(headers))]
    accepted: dict[int, str] = {}
    answers: list[int] = []
    start = threading.Barrier(len(headers))
    with serve(db_url, tmp_path) as port:

        def buy(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                start.wait()
                status, order = call(port, "POST", f"{X}/checkout",
                                     {"lines": [{"sku": skus[i]}]},
                                     {**headers[i], "Idempotency-Key": f"d11-{i}"}, conn)
                answers.append(status)
                if status == 201:
                    # the next request on the same kept-alive connection
                    paid, body = call(port, "POST", f"{X}/orders/pay",
                                      {"order": order["name"]}, headers[i], conn)
                    assert paid == 201, body
                    accepted[i] = order["name"]
                else:
                    assert status == 422 and order["errors"][0]["field"].startswith(
                        "lines[0]"), order
            finally:
                conn.close()

        threads = [threading.Thread(target=buy, args=(i,)) for i in range(len(headers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(answers) == [201] * (STOCK + ORDINARY) + [422] * (BUYERS - STOCK)
        assert len(accepted) == STOCK + ORDINARY
        assert invariants(shop_site, flash_sku=shop["SHIRT-1"], warehouse=shop["WH"],
                          flash_stock=STOCK, accepted=list(accepted.values())) == []
        # the same key again answers the stored order, and the buyer sees it paid
        i, name = next(iter(accepted.items()))
        status, again = call(port, "POST", f"{X}/checkout", {"lines": [{"sku": skus[i]}]},
                             {**headers[i], "Idempotency-Key": f"d11-{i}"})
        assert status == 201 and again["name"] == name
        status, order = call(port, "GET", f"{X}/order?name={name}", headers=headers[i])
        assert status == 200 and order["status"] == "pending_payment", order


def test_the_production_server_keeps_answering(shop_site: Site, db_url: str,
                                               tmp_path: Path) -> None:
    build_shop(shop_site)
    (h,) = shoppers(shop_site, 1)
    with serve(db_url, tmp_path) as port:
        # 16 clients that stall half-way through their headers hold none of the four
        # Python threads: the server reads headers itself
        stalled = []
        for _ in range(16):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /p/commerce/ HTTP/1.1\r\nHo")
            stalled.append(s)
        try:
            t0 = time.monotonic()
            status, quote = call(port, "POST", f"{X}/cart/quote",
                                 {"lines": [{"sku": "TEA-1", "qty": 2}]}, h)
            assert status == 200 and quote["lines"][0]["qty"] == 2, quote
            assert time.monotonic() - t0 < 5
        finally:
            for s in stalled:
                s.close()
        # a body over the API's bound is refused from its length, before it is read
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s.sendall(f"POST {X}/cart/quote HTTP/1.1\r\nHost: x\r\nAuthorization: "
                      f"{h['Authorization']}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {64 * 1024 * 1024}\r\n\r\n{{".encode())
            answer = s.makefile("rb")
            assert answer.readline().startswith(b"HTTP/1.1 413"), answer
            fields = dict(line.decode().split(":", 1) for line in iter(answer.readline, b"\r\n"))
            problem = json.loads(answer.read(int(fields["content-length"])))
            answer.close()
        finally:
            s.close()
        assert problem["code"] == "too_large", problem
        # and the server is still there for the next client
        assert call(port, "GET", "/p/commerce/")[0] == 200
