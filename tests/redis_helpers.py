"""What the tests on a real Redis share: the Redis (``YITI_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/15``), a key prefix of each test's own (its keys deleted
afterwards), and a TCP proxy in front of Redis that can stall it, cut it and bring it
back. Import the fixtures by name into a test module (``from ..redis_helpers import
proxy, prefix, redis_client``); without a reachable Redis, ``redis_client`` skips the
test, saying so.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

REDIS_URL = os.environ.get("YITI_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(f"needs Redis at {REDIS_URL} ({type(error).__name__}: {error}); "
                    "start redis-server or set YITI_TEST_REDIS_URL")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: redis.Redis) -> Iterator[str]:
    """This test's own key prefix; its keys are deleted afterwards."""
    mine = f"yiti-test:{uuid.uuid4().hex}:"
    try:
        yield mine
    finally:
        keys = list(redis_client.scan_iter(match=f"{mine}*", count=1000))
        if keys:
            redis_client.delete(*keys)


class Proxy:
    """A TCP proxy in front of Redis that can stall (Redis stops answering), be cut
    (Redis has gone away: connections reset, new ones refused) and come back."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.stalled = threading.Event()
        self.restore()
        auth = parts.netloc.rpartition("@")[0]
        where = f"127.0.0.1:{self.port}"
        self.url = urlunsplit(parts._replace(netloc=f"{auth}@{where}" if auth else where))

    def restore(self) -> None:
        """Listen (again, on the same port) and pass everything on; a proxy that was not
        cut just stops stalling."""
        self.stalled.clear()
        if self.port and not self.closed.is_set():
            return
        self.closed = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, args=(self.listener, self.closed),
                                       daemon=True)
        self.thread.start()

    def _accept(self, listener: socket.socket, closed: threading.Event) -> None:
        while not closed.is_set():
            try:
                near, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            far = socket.create_connection(self.target)
            self.sockets += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b, closed), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket,
              closed: threading.Event) -> None:
        try:
            while data := source.recv(65536):
                while self.stalled.is_set() and not closed.is_set():
                    time.sleep(0.01)
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        self.closed.set()
        self.thread.join(timeout=1)
        self.listener.close()
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        self.sockets = []


@pytest.fixture
def proxy(redis_client) -> Iterator[Proxy]:
    made = Proxy(REDIS_URL)
    yield made
    made.cut()
