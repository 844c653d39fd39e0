"""Naming series meeting numbers records already have (an import kept its document's
number, a record was named by hand): the series skips them, on a sequence (PostgreSQL) as
on a counter row (SQLite, and ``gapless`` series everywhere), instead of refusing every
later create."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import text, update

from yiti.records import naming
from yiti.site import Site


def _year() -> int:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).year


def test_a_series_skips_numbers_imported_records_have(records) -> None:  # noqa: ANN001
    # each import draws a number too (1, 2) and keeps its own
    for name in ("C-00005", "C-00006"):
        records.create("contact", {"name": name, "full_name": f"Imported {name}"})
    drawn = [records.create("contact", {"full_name": f"New {i}"})["name"] for i in range(3)]
    assert drawn == ["C-00003", "C-00004", "C-00007"]
    # and it stays moved on
    assert records.create("contact", {"full_name": "Later"})["name"] == "C-00008"


def test_create_many_skips_taken_numbers_in_one_batch(records) -> None:  # noqa: ANN001
    records.create("contact", {"name": "C-00003", "full_name": "Imported"})  # draws 1
    made = records.create_many("contact", [{"full_name": f"Bulk {i}"} for i in range(4)])
    names = sorted(records.get("contact", ident)["name"] for ident in made)
    assert names == ["C-00002", "C-00004", "C-00005", "C-00006"]


def test_a_gapless_series_skips_taken_numbers_too(records, contact, items) -> None:  # noqa: ANN001
    year = _year()
    values = {"contact": contact["id"], "lines": [{"item": items[0]["id"]}]}
    records.create("loan", dict(values, name=f"LN-{year}-00002"))  # draws 1
    assert records.create("loan", values)["name"] == f"LN-{year}-00003"
    assert records.create("loan", values)["name"] == f"LN-{year}-00004"


def test_a_number_wider_than_the_counter_is_checked_whole(site: Site, records) -> None:  # noqa: ANN001
    # The series C-{#####} past 99999: C-100000 must be seen as taken (not C-10000).
    records.create("contact", {"full_name": "First"})  # makes the counter or sequence
    with site.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT setval('{naming.sequence_name('C-')}', 99999)"))
        else:
            conn.execute(update(naming.SERIES).where(naming.SERIES.c.key == "C-")
                         .values(current=99999))
    records.create("contact", {"name": "C-100000", "full_name": "Imported"})  # draws 100000
    records.create("contact", {"name": "C-100002", "full_name": "Imported"})  # draws 100001
    assert records.create("contact", {"full_name": "New"})["name"] == "C-100003"
