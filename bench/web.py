"""Web pages timed in-process: the API list page against the hand-written query.

    .venv/bin/python bench/web.py                    # SQLite, 100k items
    .venv/bin/python bench/web.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Builds a site (the example packs and the library_roles test pack), loads ``--rows``
items with Core, then times each entry of :data:`PAGES` through Flask's test client
(authentication, permissions, the record service, JSON) and the hand-written Core query
plus ``json.dumps`` of the same rows, in the same process; prints medians and the ratio.

To add a page (the UI's list page, say), append ``Page(name, path, role)`` to
:data:`PAGES`; ``path`` is requested with the headers of a user holding ``role``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, database, median_ms
from sqlalchemy import insert, select

from yiti.permissions import tokens, users
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.app import create_app

PACKS = [ROOT / "modules", ROOT / "tests" / "permissions" / "packs"]
KINDS = ("book", "tool", "game")


@dataclass
class Page:
    name: str
    path: str
    role: str
    attributes: dict | None = None


PAGES: list[Page] = [
    Page("API list, 50 rows, filter + indexed sort", "/api/v1/item?filter=kind:eq:book"
         "&sort=code&limit=50", "Librarian"),
    Page("API list, 50 rows, with a row rule (kind = user's kind)",
         "/api/v1/item?sort=code&limit=50", "Clerk", {"kind": "book", "group": "G1"}),
]


def load_items(site: Site, rows: int) -> None:
    table = site.tables["item"]
    now = dt.datetime.now(dt.UTC)
    batch = []
    with site.engine.begin() as conn:
        for i in range(rows):
            code = f"IT-{i:07d}"
            batch.append({"name": code, "code": code, "title": f"Item {i}",
                          "kind": KINDS[i % 3], "stock": i % 100, "deposit": "1.50",
                          "version": 1, "created_at": now, "modified_at": now,
                          "created_by": "bench", "modified_by": "bench"})
            if len(batch) == 5000:
                conn.execute(insert(table), batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)
    if site.engine.dialect.name == "postgresql":  # planner statistics, as autovacuum would
        with site.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE item")


def hand_written(site: Site) -> Callable[[], str]:
    """The same page written by hand: Core query, then JSON, no framework."""
    t = site.tables["item"]
    query = select(t).where(t.c.kind == "book").order_by(t.c.code, t.c.id).limit(51)

    def run() -> str:
        with site.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return json.dumps([{k: (str(v) if not isinstance(v, (int, str, type(None))) else v)
                            for k, v in r.items()} for r in rows[:50]])

    return run


#: The generated screens (yiti.web.ui): full HTML pages, server time, budget 150 ms.
UI_PAGES: list[tuple[str, str]] = [
    ("UI list page, 20 rows + capped count", "/app/item"),
    ("UI list page, filter + sort by header", "/app/item?f.kind=book&sort=-code"),
    ("UI list page, range filter, 2nd page", "/app/item?f.stock.from=10&f.stock.to=20&n=20"),
    ("UI list page, search", "/app/item?q=Item%209999"),
]
UI_BUDGET_MS = 150


def ui_pages(site: Site, app: object, repeat: int) -> None:
    """Time the screens' list page (HTML through templates, as a browser gets it)."""
    client = app.test_client()  # type: ignore[attr-defined]
    ident = users.create_user(site, "bench-ui", "bench-password-1", roles=["Librarian"])
    token, _ = tokens.create_token(site, ident, ["*"])
    headers = {"Authorization": f"Bearer {token}"}
    for name, path in UI_PAGES:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        rows = response.get_data(as_text=True).count('name="ids"')
        ms = median_ms(lambda p=path: client.get(p, headers=headers), repeat)
        verdict = "ok" if ms < UI_BUDGET_MS else f"OVER {UI_BUDGET_MS} ms"
        print(f"  {name:58} {ms:7.2f} ms  ({rows} rows, {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, Path(tmp)) as url:
        site = Site(settings_for(url, Path(tmp), modules=PACKS))
        site.migrate()
        started = time.perf_counter()
        load_items(site, args.rows)
        print(f"{site.engine.dialect.name}: loaded {args.rows:,} items in "
              f"{time.perf_counter() - started:.1f} s")
        app = create_app(site=site)
        client = app.test_client()
        base = median_ms(hand_written(site), args.repeat)
        print(f"  {'hand-written Core query + json.dumps (50 rows)':58} {base:7.2f} ms")
        for i, page in enumerate(PAGES):
            ident = users.create_user(site, f"bench{i}", "bench-password-1",
                                      roles=[page.role], attributes=page.attributes or {})
            token, _ = tokens.create_token(site, ident, ["*"])
            headers = {"Authorization": f"Bearer {token}"}
            response = client.get(page.path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            count = len(response.json["data"]) if response.is_json else "-"
            ms = median_ms(lambda p=page, h=headers: client.get(p.path, headers=h),
                           args.repeat)
            verdict = "ok" if ms < 30 else "OVER 30 ms"
            print(f"  {page.name:58} {ms:7.2f} ms  ({count} rows, x{ms / base:.1f} the "
                  f"hand-written query, {verdict})")
        ui_pages(site, app, args.repeat)
        site.close()


if __name__ == "__main__":
    main()
