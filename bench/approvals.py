"""What the "My approvals" count costs on every page, against a bare count of open tasks.

    .venv/bin/python bench/approvals.py                      # SQLite, 2,000 claims
    .venv/bin/python bench/approvals.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Builds the example pack's expense claims, submitted by employees whose manager is one team
lead (so they all wait for him), and a finance manager who waits for none. Prints the
median time of ``inbox.count`` (what the navigation shows on every page: open tasks on
records the user may read, still in the task's step) for the lead and for the finance
manager, of the bare task count it replaced (no read check), and of ``inbox.items`` (the
inbox's first 100) with the number of SQL statements it runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import database, median_ms
from sqlalchemy import event, func, select

import yiti.workflow  # noqa: F401 - the workflow kind and tables before the site
from yiti.config import PROJECT_ROOT
from yiti.permissions import users
from yiti.records.transaction import reading
from yiti.site import Site
from yiti.testing import settings_for
from yiti.workflow import inbox, install
from yiti.workflow.tables import TASK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--claims", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="yiti-bench-approvals-"))
    with database(args.database_url, tmp) as url:
        run(url, tmp, args.claims, args.repeat)


def run(url: str, tmp: Path, claims: int, repeat: int) -> None:
    site = Site(settings_for(url, tmp, modules=[PROJECT_ROOT / "modules"], packs=["example"]))
    try:
        site.migrate()
        engine = install(site)
        users.create_user(site, "leo", None, roles=("TeamLead",))
        users.create_user(site, "fay", None, roles=("FinanceManager",))
        staff = [f"emp{i}" for i in range(20)]
        for name in staff:
            users.create_user(site, name, None, roles=("Employee",),
                              attributes={"manager": "leo"})
        started = time.perf_counter()
        for i in range(claims):
            who = users.actor_for(site, users.get_user(site, staff[i % len(staff)]))
            claim = site.records(who).create("expense_claim",
                                             {"title": f"Claim {i}", "amount": "120.00"})
            engine.act(who, "expense_claim", claim["id"], "submit")
        build = time.perf_counter() - started
        leo = users.actor_for(site, users.get_user(site, "leo"))
        fay = users.actor_for(site, users.get_user(site, "fay"))
        t = site.tables[TASK]

        def bare() -> int:
            inner = select(t.c.entity, t.c.record_id).where(
                t.c.status == "open", t.c.assignee == "leo").distinct().subquery()
            with reading(site.engine) as conn:
                return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())

        assert inbox.count(engine, leo) == bare() == claims
        print(f"database: {site.engine.dialect.name}; {claims:,} claims waiting for "
              f"leo (built in {build:.1f} s); median of {repeat}")
        print(f"  inbox.count(leo)        {median_ms(lambda: inbox.count(engine, leo), repeat):8.2f} ms")
        print(f"  bare task count (leo)   {median_ms(bare, repeat):8.2f} ms")
        print(f"  inbox.count(fay), none  {median_ms(lambda: inbox.count(engine, fay), repeat):8.2f} ms")
        print(f"  inbox.items(leo), 100   {median_ms(lambda: inbox.items(engine, leo), max(3, repeat // 10)):8.2f} ms")
        statements = [0]

        def counted(*_: object) -> None:
            statements[0] += 1

        event.listen(site.engine, "before_cursor_execute", counted)
        shown = len(inbox.items(engine, leo))
        event.remove(site.engine, "before_cursor_execute", counted)
        print(f"  inbox.items(leo): {shown} items in {statements[0]} SQL statements")
    finally:
        site.close()


if __name__ == "__main__":
    main()
