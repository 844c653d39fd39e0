"""A hook's ``ctx.now()`` and ``ctx.today()``: the site's time zone, the job layer's clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from yiti.jobs import FakeClock, install
from yiti.site import Site
from yiti.testing import load, settings_for, write_pack

HOOKS = """
from yiti import api

@api.hook('purchase', 'before_save')
def date_it(doc, ctx):
    doc['ordered_on'] = ctx.today()
    doc['ordered_at'] = ctx.now()
    doc['zone'] = str(ctx.now().tzinfo)
"""


def test_a_hook_dates_a_record_in_the_site_time_zone_by_the_jobs_clock(
        tmp_path: Path, db_url: str) -> None:
    modules = tmp_path / "packs"
    write_pack(modules, "buying", {
        "entities/purchase.yaml": "entity: purchase\nfields:\n  ordered_on: {type: date}\n"
                                  "  ordered_at: {type: datetime}\n  zone: {type: string}\n",
        "hooks.py": HOOKS})
    settings = dataclasses.replace(settings_for(db_url, tmp_path, modules=[modules]),
                                   timezone="Asia/Shanghai")
    site = Site(settings, model=load([modules]))
    try:
        site.migrate()
        # 17:30 UTC on 31 March is already 1 April in Shanghai (and on no server in UTC).
        clock = FakeClock(dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.UTC))
        install(site, clock=clock)
        first = site.records().create("purchase", {})
        assert first["ordered_on"] == dt.date(2026, 4, 1)
        assert first["ordered_at"] == dt.datetime(2026, 3, 31, 17, 30, tzinfo=dt.UTC)
        assert first["zone"] == "Asia/Shanghai"
        clock.advance(hours=24)  # the test moves the hooks' clock as it moves the jobs'
        assert site.records().create("purchase", {})["ordered_on"] == dt.date(2026, 4, 2)
        local = dt.datetime(2026, 4, 2, 1, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert clock.now() == local
    finally:
        site.close()
