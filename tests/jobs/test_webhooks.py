"""Webhooks: signed, sent after commit, retried after a 500, delivered once per event."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from yiti.jobs import verify
from yiti.jobs import webhooks as hooks
from yiti.jobs.embedded import start_consumer
from yiti.site import Site

from .conftest import wait_for


class Receiver:
    """A local HTTP endpoint that answers 500 to the first request, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status = 500 if not receiver.requests else 200
                    receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def accepted(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _, body, status in self.requests if status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hooked_site(make_site: Callable[..., Site], backend: str, modules: Path,
                receiver: Receiver) -> Site:
    folder = modules / "jobpack" / "webhooks"
    folder.mkdir()
    (folder / "orders.yaml").write_text(
        f"webhook: orders\nentity: order\nurl: {receiver.url}\n"
        "events: [created, updated, submitted, cancelled, deleted]\n")
    (folder / "big_orders.yaml").write_text(
        f"webhook: big_orders\nentity: order\nurl: {receiver.url}\nevents: [created]\n"
        "condition: \"total > 100\"\nenabled: false\n")
    return make_site(backend=backend)


def test_each_event_is_delivered_once_signed_despite_a_failed_attempt(
        hooked_site: Site, receiver: Receiver) -> None:
    site = hooked_site
    records = site.records()
    with start_consumer(site.jobs):
        order = records.create("order", {"customer": "Ann", "total": "12.50"})
        order = records.update("order", order["id"], {"total": "20.00"})
        records.submit("order", order["id"])
        records.cancel("order", order["id"])
        draft = records.create("order", {"customer": "Bob"})
        records.delete("order", draft["id"])
        with pytest.raises(RuntimeError), records.unit_of_work():
            records.create("order", {"customer": "Rolled back"})
            raise RuntimeError("never mind")
        wait_for(lambda: len(receiver.accepted()) == 6, timeout=20)
        jobs = wait_for(lambda: (j := site.jobs.list()) and all(
            x["state"] == "done" for x in j) and j)
    secret = hooks.secret_for(site, "orders")
    for headers, body, _ in receiver.requests:
        assert verify(secret, body, headers["X-Yiti-Signature"])
        assert not verify(secret, body + b" ", headers["X-Yiti-Signature"])
        assert json.loads(body)["id"] == headers["X-Yiti-Delivery"]
    accepted = receiver.accepted()
    assert len({a["id"] for a in accepted}) == 6  # each event once
    events = sorted((a["data"].get("customer"), a["event"]) for a in accepted)
    assert events == sorted([("Ann", "created"), ("Ann", "updated"), ("Ann", "submitted"),
                             ("Ann", "cancelled"), ("Bob", "created"), ("Bob", "deleted")])
    submitted = next(a for a in accepted if a["event"] == "submitted")
    assert submitted["data"]["docstatus"] == "submitted"
    assert submitted["data"]["total"] == "20.00"
    assert len(receiver.requests) == 7  # one more: the attempt answered with a 500
    assert len(jobs) == 6
    log = hooks.deliveries(site, webhook="orders")
    assert sorted(d["status_code"] for d in log) == [200] * 6 + [500]
    failed = next(d for d in log if d["status_code"] == 500)
    assert failed["attempt"] == 1 and failed["error"].startswith("HTTP 500")
    retried = [d for d in log if d["event_id"] == failed["event_id"]]
    assert sorted(d["attempt"] for d in retried) == [1, 2]


def test_condition_and_enabling(hooked_site: Site, receiver: Receiver) -> None:
    site = hooked_site
    records = site.records()
    hooks.set_enabled(site, "orders", False)
    records.create("order", {"customer": "Small", "total": "5"})
    assert site.jobs.list() == []  # both webhooks are off
    hooks.set_enabled(site, "big_orders", True)
    records.create("order", {"customer": "Small", "total": "5"})
    records.create("order", {"customer": "Big", "total": "500"})
    jobs = site.jobs.list()
    assert [(j["payload"]["webhook"], j["payload"]["record"]["customer"]) for j in jobs] == [
        ("big_orders", "Big")]


def test_signature_check_rejects_old_or_forged_requests() -> None:
    body = b'{"id": "x"}'
    header = hooks.sign("s3cret", body, 1_700_000_000)
    assert verify("s3cret", body, header, now=1_700_000_100)
    assert not verify("s3cret", body, header, now=1_700_001_000)  # too old: a replay
    assert not verify("other", body, header, now=1_700_000_100)
    assert not verify("s3cret", body, "garbage")
