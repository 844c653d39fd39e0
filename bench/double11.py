"""Double 11 on PostgreSQL: the app under granian, buyers over HTTP, then the invariants.

    .venv/bin/python bench/double11.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/double11.py --database-url ... --buyers 200 --rounds 5 --burst 2000

In a fresh schema: a shop (sfshop.build_shop plus 20 products), a flash-sale SKU with
``--flash-stock`` units, buyers who are customers with API tokens. Then, against the
production server on 127.0.0.1, ``granian --interface wsgi --workers W --blocking-threads
T --factory yiti.web.app:create_app`` (docs/architecture.md, "Serving in production"; W 2
and T 2 unless given):

1. **checkout**: ``--buyers`` concurrent buyers, ``--rounds`` orders each (add to cart,
   check out with an Idempotency-Key, start paying); half try the flash SKU first, the rest
   and every later round buy ordinary SKUs. Prints orders/s and checkout p50/p95/p99.
   ``--pay-in-checkout``: the checkout starts the payment too (``"pay": "test"``, as the
   storefront does: one request fewer per order).
   ``--flow buy-now``: no cart, the checkout sends its line ("buy now", as a flash-sale
   page does: one request fewer per order), here and in the burst.
2. **read path**: ``--readers`` connections of anonymous visitors for ``--read-seconds``:
   home, category, search and product pages and the product API (all cached 5 s). Page
   views/s and p50/p99.
3. **burst**: ``--burst`` buyers (one connection each) check out one flash SKU at once;
   every request must be answered (201, 422 sold out, or 429 shed) within ``--timeout``.
4. **invariants** (sfshop.invariants): the flash SKUs sold exactly their stock; no stock
   negative; every accepted order has lines, a payment and its moves; ledger = levels.
5. **hand-written SQL baseline**: the same number of checkouts, the same mix, each one
   transaction of plain Core statements (insert order, line, payment; the conditional
   UPDATEs of the flash counter and the stock level last; insert the move) on
   ``--sql-threads`` connections; the ratio against step 1.

``--rate R`` makes step 1 an open loop: orders arrive at R a second whatever the server
is doing (each on an idle keep-alive connection or a new one) and a checkout's latency
counts from its arrival, so it shows the latency at that rate; closed, 200 buyers who
each wait for their answer can never see less than 200 / throughput on average (Little's
law). ``--timeline FILE`` writes each checkout's start, latency and status.
``--server gunicorn`` serves the app under ``gunicorn -w W -k gthread --threads T
--reuse-port`` instead (T 8 unless given; ``--worker-class gevent`` for its gevent worker),
the server of the earlier figures in docs/benchmarks.md: gunicorn is not a dependency,
``pip install gunicorn`` first.

``--phases`` runs some of them only, e.g. ``--phases read`` for the read path alone
(no buyers are created for it, so set-up takes seconds); the phases are ``checkout``,
``read``, ``burst`` and ``sql`` (the baseline, sized by the checkouts of step 1, or
``--buyers * --rounds`` without it); the invariants follow whenever ``checkout`` or
``burst`` ran. Default: all of them.

    .venv/bin/python bench/double11.py --database-url ... --phases read --read-seconds 10

The load comes from this process (asyncio, a minimal HTTP/1.1 keep-alive client), so
on a 2-core machine client and server share the CPUs. After the checkout and read phases
a line says where the CPUs went (the server, postgres, this process, idle; from ``/proc``). Bounded: ``--time-limit`` per phase.
Exits with a message and status 2 without PostgreSQL; 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from common import ROOT, database, schema_of, set_up, summary
from sqlalchemy import create_engine, insert, update

X = "/api/v1/x/commerce"
PAGES = ["/p/commerce/", "/p/commerce/category/APPAREL", "/p/commerce/search?q=Product",
         "/p/commerce/product/SHOE", "/p/commerce/product/P-003", "/p/commerce/product/TEA",
         "/p/commerce/?channel=WECHAT", "/p/commerce/product/P-011?channel=WECHAT"]
API_PAGE = f"{X}/catalogue/product?code=TEA"
PHASES = ("checkout", "read", "burst", "sql")


# -- a small HTTP/1.1 client -----------------------------------------------------------------

class Http:
    """One keep-alive connection; ``request`` answers (status, body) or raises."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        retry_safe = method == "GET" or "Idempotency-Key" in (headers or {})
        for attempt in (0, 1):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.wait_for(
                        asyncio.open_connection("127.0.0.1", self.port), self.timeout)
                self.writer.write(raw)
                return await asyncio.wait_for(self._read(), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt or not retry_safe:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in head[1:] if line)}
        if fields.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(int(fields.get("content-length", 0)))
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, body


# -- set-up ----------------------------------------------------------------------------------

def start_server(url: str, tmp: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "YITI_PACKS": "commerce",
           "YITI_INSTANCE": str(tmp / "instance"), "SECRET_KEY": "double11-bench",
           "PYTHONPATH": str(ROOT / "platform"), "YITI_WRITE_SLOTS": str(args.write_slots),
           "YITI_WRITE_WAIT": str(args.write_wait)}
    env.pop("REDIS_URL", None)
    if args.server == "granian":
        # the production command of docs/architecture.md, on a free port
        command = [str(Path(sys.executable).with_name("granian")), "--interface", "wsgi",
                   "--workers", str(args.workers), "--blocking-threads", str(args.threads),
                   "--host", "127.0.0.1", "--port", str(port), "--backlog", "4096",
                   "--log-level", "warning", "--no-ws", "--http", "1", "--factory",
                   "yiti.web.app:create_app"]
    else:
        command = [str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.workers),
                   "-k", args.worker_class, "--threads", str(args.threads),
                   "-b", f"127.0.0.1:{port}", "--backlog", "4096",
                   "--keep-alive", "120", "--worker-connections", "4000", "--timeout", "120",
                   "--log-level", "warning", "--reuse-port", "yiti.web.app:create_app()"]
    if not Path(command[0]).exists():
        raise SystemExit(f"{args.server} is not installed here: pip install {args.server}")
    server = subprocess.Popen(command, env=env, cwd=tmp, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 1) as conn:
                conn.sendall(b"GET /p/commerce/ HTTP/1.0\r\nHost: x\r\n\r\n")
                if b" 200 " in conn.recv(64):
                    return server, port
        except OSError:
            pass
        if server.poll() is not None:
            raise SystemExit(f"{args.server} exited while starting")
        time.sleep(0.5)
    server.terminate()
    raise SystemExit(f"{args.server} did not answer within 90 s")


def steps(args: argparse.Namespace) -> str:
    """What one order is, in requests."""
    first = "check out with the line" if args.flow == "buy-now" else "add to cart, check out"
    return f"{first} and pay in it" if args.pay_in_checkout else f"{first}, pay"


def server_line(args: argparse.Namespace) -> str:
    if args.server == "granian":
        return f"granian --workers {args.workers} --blocking-threads {args.threads}"
    return (f"gunicorn -w {args.workers} -k {args.worker_class} --threads {args.threads} "
            "--reuse-port")


# -- where the CPUs went ---------------------------------------------------------------------

def cpu_ticks() -> dict[str, int]:
    """Clock ticks so far: the machine's busy and idle (``/proc/stat``) and, per kind of
    process (the server, postgres, this bench), their user + system time. Linux only; empty
    elsewhere."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return {}
    out = {"idle": fields[3] + fields[4], "busy": sum(fields) - fields[3] - fields[4]}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = ("bench" if entry.name == str(os.getpid())
                else "server" if b"gunicorn" in cmd or b"granian" in cmd
                else "postgres" if cmd.startswith(b"postgres") else None)
        if kind:
            out[kind] = out.get(kind, 0) + int(stat[11]) + int(stat[12])
    return out


def cpu_split(before: dict[str, int], after: dict[str, int]) -> str:
    """Where the CPUs went between two :func:`cpu_ticks`: shares of all CPU time. A
    process that ended in between is missed (the server's workers and the pooled backends
    live through a phase)."""
    if not before or not after:
        return "CPU split: not available here"
    total = (after["busy"] + after["idle"]) - (before["busy"] + before["idle"]) or 1
    parts = [f"{k} {100 * (after.get(k, 0) - before.get(k, 0)) / total:.0f}%"
             for k in ("server", "postgres", "bench")]
    idle = 100 * (after["idle"] - before["idle"]) / total
    return f"  CPU ({os.cpu_count()} CPUs): " + ", ".join(parts) + f", idle {idle:.0f}%"


# -- the phases ------------------------------------------------------------------------------

async def checkout_phase(port: int, ids: dict[str, Any], args: argparse.Namespace
                         ) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    accepted: list[str] = []
    deadline = time.monotonic() + args.time_limit
    rng = random.Random(11)
    buy_now = args.flow == "buy-now"
    timeline: list[tuple[float, float, int]] = []

    async def order(http: Http, i: int, n: int, h: dict[str, str], since: float) -> None:
        """Buyer ``i``'s order ``n``; its checkout's latency counts from ``since``."""
        flash = n == 0 and i % 2 == 0
        sku = "SHIRT-1" if flash else rng.choice(ids["ordinary"])
        lines = {"lines": [{"sku": sku, "qty": 1}]} if buy_now else {}
        if args.pay_in_checkout:
            lines["pay"] = "test"
        if not buy_now:
            status, _ = await http.request("POST", f"{X}/cart/add", {"sku": sku, "qty": 1}, h)
            statuses[f"cart {status}"] += 1
        status, body = await http.request("POST", f"{X}/checkout", lines, {
            **h, "Idempotency-Key": f"d11-{i}-{n}"})
        latencies.append(time.perf_counter() - since)
        timeline.append((since, latencies[-1], status))
        statuses[f"checkout {status}"] += 1
        if flash:
            statuses[f"flash {status}"] += 1
        if status == 201:
            placed = json.loads(body)
            name = placed["name"]
            if args.pay_in_checkout:  # the payment came with the order
                status = 201 if placed["payment"]["status"] == "pending" else 500
            for _ in range(0 if args.pay_in_checkout else 20):
                # a shed payment is tried again, as a client would
                status, _ = await http.request("POST", f"{X}/orders/pay", {
                    "order": name}, {**h, "Idempotency-Key": f"pay-{i}-{n}"})
                statuses[f"pay {status}"] += 1
                if status != 429:
                    break
                await asyncio.sleep(0.5)
            if status == 201:
                accepted.append(name)
        elif status == 422 and flash and not buy_now:  # sold out: clear the cart
            await http.request("POST", f"{X}/cart/remove", {"sku": sku}, h)

    async def buyer(i: int, h: dict[str, str]) -> None:
        """Closed loop: the buyer's next order as soon as the last one is answered."""
        http = Http(port, args.timeout)
        try:
            for n in range(args.rounds):
                if time.monotonic() > deadline:
                    return
                await order(http, i, n, h, time.perf_counter())
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            statuses[f"error {type(error).__name__}"] += 1
        finally:
            await http.close()

    idle: list[Http] = []

    async def arrival(i: int, n: int, h: dict[str, str], due: float) -> None:
        """Open loop: an order that arrives at ``due`` whatever the server is doing, on
        an idle keep-alive connection or a new one; its latency counts from ``due``, so
        time spent waiting behind a slow server is not left out."""
        http = idle.pop() if idle else Http(port, args.timeout)
        try:
            await order(http, i, n, h, due)
            idle.append(http)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            statuses[f"error {type(error).__name__}"] += 1
            await http.close()

    t0 = time.perf_counter()
    if not args.rate:
        await asyncio.gather(*(buyer(i, h) for i, h in enumerate(ids["buyers"])))
    else:
        buyers = ids["buyers"]
        tasks = []
        for k in range(len(buyers) * args.rounds):
            due = t0 + k / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if time.monotonic() > deadline:
                break
            i, n = k % len(buyers), k // len(buyers)
            tasks.append(asyncio.create_task(arrival(i, n, buyers[i], due)))
        await asyncio.gather(*tasks)
        for http in idle:
            await http.close()
    if args.timeline:
        with open(args.timeline, "w") as f:
            for since, latency, status in timeline:
                f.write(f"{since - t0:.3f} {latency * 1000:.1f} {status}\n")
    return {"seconds": time.perf_counter() - t0, "latencies": latencies,
            "statuses": statuses, "accepted": accepted}


async def read_phase(port: int, args: argparse.Namespace) -> dict[str, Any]:
    pages: list[float] = []
    api: list[float] = []
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + args.read_seconds
    rng = random.Random(7)

    async def reader() -> None:
        http = Http(port, args.timeout)
        try:
            while time.monotonic() < deadline:
                path = API_PAGE if rng.random() < args.api_share else rng.choice(PAGES)
                t0 = time.perf_counter()
                status, _ = await http.request("GET", path)
                (api if path == API_PAGE else pages).append(time.perf_counter() - t0)
                statuses[status] += 1
        finally:
            await http.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(reader() for _ in range(args.readers)))
    return {"seconds": time.perf_counter() - t0, "pages": pages, "api": api,
            "statuses": statuses}


async def add_carts(port: int, tokens_: list[dict[str, str]], sku: str,
                    args: argparse.Namespace) -> Counter[int]:
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for h in tokens_:
        queue.put_nowait(h)
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        http = Http(port, args.timeout)
        try:
            while not queue.empty():
                h = queue.get_nowait()
                status, _ = await http.request("POST", f"{X}/cart/add",
                                               {"sku": sku, "qty": 1}, h)
                statuses[status] += 1
        finally:
            await http.close()

    await asyncio.gather(*(worker() for _ in range(32)))
    return statuses


async def burst_phase(port: int, ids: dict[str, Any], args: argparse.Namespace
                      ) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    accepted: list[str] = []
    go = asyncio.Event()
    order: dict[str, Any] = {"lines": [{"sku": "HOT-1", "qty": 1}]} if args.flow == "buy-now" else {}
    if args.pay_in_checkout:
        order["pay"] = "test"

    async def buyer(i: int, h: dict[str, str]) -> None:
        http = Http(port, args.timeout)
        try:
            await go.wait()
            t0 = time.perf_counter()
            status, body = await http.request("POST", f"{X}/checkout", order, {
                **h, "Idempotency-Key": f"burst-{i}"})
            latencies.append(time.perf_counter() - t0)
            statuses[str(status)] += 1
            if status == 201:
                placed = json.loads(body)
                name = placed["name"]
                if args.pay_in_checkout:  # the payment came with the order
                    status = 201 if placed["payment"]["status"] == "pending" else 500
                for _ in range(0 if args.pay_in_checkout else 20):
                    # a shed payment is tried again, as a client would
                    status, _ = await http.request("POST", f"{X}/orders/pay", {
                        "order": name}, {**h, "Idempotency-Key": f"burst-pay-{i}"})
                    if status != 429:
                        break
                    await asyncio.sleep(1)
                if status == 201:
                    accepted.append(name)
                else:
                    statuses[f"pay {status}"] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            statuses[f"error {type(error).__name__}"] += 1
        finally:
            await http.close()

    tasks = [asyncio.create_task(buyer(i, h)) for i, h in enumerate(ids["burst"])]
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return {"seconds": time.perf_counter() - t0, "latencies": latencies,
            "statuses": statuses, "accepted": accepted}


# -- the hand-written SQL baseline -------------------------------------------------------------

def sql_baseline(site: Any, ids: dict[str, Any], count: int, threads: int,
                 flash_attempts: int) -> dict[str, Any]:
    """``count`` checkouts as plain Core statements, one transaction each, the hot rows
    (flash counter, stock level) updated last and committed at once."""
    t = site.tables
    order, line, payment, move = (t["sales_order"], t["sales_order_line"], t["payment"],
                                  t["stock_move"])
    level, promotion = t["stock_level"], t["promotion"]
    engine = create_engine(site.engine.url, pool_size=threads, max_overflow=0)
    skus = [s["id"] for s in site.records().list("sku", filters=[
        ("code", "in", ids["ordinary"])], fields=["id"], limit=100).rows]
    now = dt.datetime.now(dt.UTC)
    stamps = {"created_at": now, "modified_at": now, "created_by": "bench",
              "modified_by": "bench", "version": 1}
    latencies: list[float] = []
    results: Counter[str] = Counter()
    counter = iter(range(count))
    lock = threading.Lock()
    rng = random.Random(3)

    def one(n: int) -> None:
        flash = n % 2 == 0 and n < 2 * flash_attempts
        sku = ids["BASE-FLASH"] if flash else rng.choice(skus)
        price = Decimal("9.90") if flash else Decimal("30.00")
        t0 = time.perf_counter()
        with engine.begin() as conn:
            oid = conn.execute(insert(order).values(
                name=f"BASE-{n}", channel=ids["ONLINE"], customer=ids["customer"],
                order_date=now, status="pending_payment", subtotal=price, grand_total=price,
                discount_total=0, shipping_fee=0, **stamps).returning(order.c.id)).scalar_one()
            conn.execute(insert(line).values(
                parent_id=oid, idx=1, sku=sku, title="x", qty=1, list_price=price,
                unit_price=price, amount=price, warehouse=ids["WH"], reserved_qty=1,
                reserved_from="free", **stamps))
            conn.execute(insert(payment).values(name=f"BASEPAY-{n}", sales_order=oid,
                                                provider="test", amount=price,
                                                status="pending", **stamps))
            if flash and conn.execute(update(promotion).where(
                    promotion.c.id == ids["BASE-PROMO"], promotion.c.remaining_qty >= 1
                    ).values(remaining_qty=promotion.c.remaining_qty - 1)).rowcount == 0:
                conn.rollback()
                results["sold out"] += 1
                latencies.append(time.perf_counter() - t0)
                return
            if conn.execute(update(level).where(
                    level.c.sku == sku, level.c.warehouse == ids["WH"], level.c.free >= 1
                    ).values(reserved=level.c.reserved + 1, available=level.c.available - 1,
                             free=level.c.free - 1)).rowcount == 0:
                conn.rollback()
                results["sold out"] += 1
                latencies.append(time.perf_counter() - t0)
                return
            conn.execute(insert(move).values(
                moved_at=now, kind="reserve", sku=sku, warehouse=ids["WH"],
                on_hand_change=0, reserved_change=1, channel=ids["ONLINE"],
                sales_order=oid, reference=f"BASE-{n}", **stamps))
        latencies.append(time.perf_counter() - t0)
        results["accepted"] += 1

    def worker() -> None:
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            one(n)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "latencies": latencies, "results": results}


# -- main --------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("YITI_TEST_DATABASE_URL"))
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flow", choices=("cart", "buy-now"), default="cart",
                        help="add to cart then check out, or check out with the line")
    parser.add_argument("--pay-in-checkout", action="store_true",
                        help="start the payment in the checkout request (\"pay\": "
                             "\"test\"), not with orders/pay after it")
    parser.add_argument("--flash-stock", type=int, default=50)
    parser.add_argument("--readers", type=int, default=32)
    parser.add_argument("--read-seconds", type=float, default=10)
    parser.add_argument("--api-share", type=float, default=0.1)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--burst-stock", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int,
                        help="per worker: granian's blocking threads (default 2) or "
                             "gunicorn's threads (default 8)")
    parser.add_argument("--server", choices=("granian", "gunicorn"), default="granian")
    parser.add_argument("--worker-class", default="gthread",
                        help="gunicorn's -k: gthread, or gevent if installed")
    parser.add_argument("--rate", type=float, default=0,
                        help="open loop: orders arriving per second (default: closed loop, "
                             "each buyer's next order when the last is answered)")
    parser.add_argument("--timeline", help="write each checkout (start s, latency ms, "
                                           "status) to this file")
    parser.add_argument("--write-slots", type=int, default=2, help="per worker")
    parser.add_argument("--write-wait", type=float, default=0.25)
    parser.add_argument("--sql-threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=30, help="per request, seconds")
    parser.add_argument("--time-limit", type=float, default=120, help="per phase, seconds")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated, some of {', '.join(PHASES)}")
    args = parser.parse_args()
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    args.threads = args.threads or (2 if args.server == "granian" else 8)
    unknown = [p for p in args.phases if p not in PHASES]
    if unknown or not args.phases:
        parser.error(f"--phases: {', '.join(unknown) or 'none given'}; "
                     f"choose from {', '.join(PHASES)}")
    url = args.database_url
    if not url or not url.startswith("postgresql"):
        print("bench/double11.py needs PostgreSQL: pass --database-url "
              "postgresql+psycopg://postgres@127.0.0.1:5432/test (or set "
              "YITI_TEST_DATABASE_URL)", file=sys.stderr)
        return 2
    if "127.0.0.1" not in url and "localhost" not in url:
        print("bench/double11.py only runs against a local database", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="yiti-d11-"))
    with database(url, tmp) as url:
        return run(url, tmp, args)


def run(url: str, tmp: Path, args: argparse.Namespace) -> int:
    """The phases in the fresh schema of ``url``; 1 when an invariant fails."""
    schema = schema_of(url)
    server = None
    try:
        t0 = time.perf_counter()
        site, ids = set_up(url, tmp, args)
        print(f"set-up: {time.perf_counter() - t0:.0f} s; schema {schema}; "
              f"phases {', '.join(args.phases)}; "
              f"{args.buyers} buyers x {args.rounds} rounds ({args.flow}"
              f"{', pay in checkout' if args.pay_in_checkout else ''}"
              f"{f', open loop: {args.rate:g} orders/s' if args.rate else ''}), "
              f"flash stock {args.flash_stock}; "
              f"{server_line(args)}, {args.write_slots} write slots per worker")
        server, port = start_server(url, tmp, args)
        problems: list[str] = []

        co = None
        if "checkout" in args.phases:
            ticks = cpu_ticks()
            co = asyncio.run(checkout_phase(port, ids, args))
            split = cpu_split(ticks, cpu_ticks())
            print(summary("checkout", co["latencies"], co["seconds"], len(co["latencies"]),
                          "checkouts"))
            print(f"  orders accepted and paid: {len(co['accepted']):,} "
                  f"({len(co['accepted']) / co['seconds']:,.0f} orders/s, each: "
                  f"{steps(args)}); statuses {dict(co['statuses'])}")
            print(split)

        if "read" in args.phases:
            ticks = cpu_ticks()
            rd = asyncio.run(read_phase(port, args))
            split = cpu_split(ticks, cpu_ticks())
            print(summary("read path, pages", rd["pages"], rd["seconds"], len(rd["pages"]),
                          "page views"))
            print(summary("read path, product API", rd["api"], rd["seconds"], len(rd["api"]),
                          "requests"))
            print(f"  statuses {dict(rd['statuses'])}")
            print(split)

        bu = None
        if "burst" in args.phases:
            carts = (asyncio.run(add_carts(port, ids["burst"], "HOT-1", args))
                     if args.flow == "cart" else Counter())
            bu = asyncio.run(burst_phase(port, ids, args))
            answered = sum(v for k, v in bu["statuses"].items() if k.isdigit())
            print(summary(f"burst of {args.burst}", bu["latencies"], bu["seconds"],
                          len(bu["latencies"]), "answers"))
            print(f"  carts {dict(carts)}; answered {answered}/{args.burst}; "
                  f"statuses {dict(bu['statuses'])}; "
                  f"max {max(bu['latencies'], default=0) * 1000:.0f} ms")
            if answered != args.burst:
                problems.append(f"{args.burst - answered} burst requests were not answered")

        if co is not None or bu is not None:
            from sfshop import invariants

            co_statuses = co["statuses"] if co else Counter()
            bu_statuses = bu["statuses"] if bu else Counter()
            flash_tries = co_statuses["flash 201"] + co_statuses["flash 422"]
            problems += invariants(site, flash_sku=ids["SHIRT-1"], warehouse=ids["WH"],
                                   flash_stock=args.flash_stock,
                                   accepted=(co["accepted"] if co else [])
                                   + (bu["accepted"] if bu else []),
                                   sold_out=flash_tries > args.flash_stock)
            problems += [p for p in invariants(
                site, flash_sku=ids["HOT-1"], warehouse=ids["WH"],
                flash_stock=args.burst_stock, accepted=[],
                sold_out=bu_statuses["201"] + bu_statuses["422"] > args.burst_stock)
                if "flash" in p]
            print(f"  flash SKU: {args.flash_stock} units, {flash_tries} answered tries; "
                  f"burst SKU: {args.burst_stock} units, {bu_statuses['201']} sold")
            print("invariants: " + ("all hold" if not problems else "; ".join(problems[:10])))

        if "sql" in args.phases:
            n = co["statuses"]["checkout 201"] + co["statuses"]["checkout 422"] if co \
                else args.buyers * args.rounds
            base = sql_baseline(site, ids, max(n, 1), args.sql_threads,
                                (args.buyers + 1) // 2)
            print(summary("hand-written SQL checkout", base["latencies"], base["seconds"],
                          len(base["latencies"]), "checkouts"))
            if co is not None:
                ratio = (len(base["latencies"]) / base["seconds"]) / (
                    len(co["latencies"]) / co["seconds"])
                print(f"  {dict(base['results'])}; ratio SQL / HTTP checkouts per second: "
                      f"{ratio:.1f}x")
        site.close()
        return 1 if problems else 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:  # its workers too, not only their parent
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
