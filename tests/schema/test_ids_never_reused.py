"""A deleted record's id is never given to a new record (SQLite reuses rowids otherwise),
and a SQLite table made before that is rebuilt by the next migration, keeping its rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Table, text

from tests.schema.test_migrate import BASE, site_for
from yiti.site import Site

LINKED = BASE + "  origin: {type: link, entity: item}\n"


def table_sql(site: Site, name: str) -> str:
    with site.engine.connect() as conn:
        return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"),
                            {"n": name}).scalar_one()


def test_a_deleted_records_id_is_not_reused_nor_its_history_inherited(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    records = site.records()
    records.create("item", {"title": "Tea"})
    old = records.create("item", {"title": "Secret"})
    records.delete("item", old["id"], version=old["version"])
    new = records.create("item", {"title": "New"})
    assert new["id"] > old["id"]
    history = records.history("item", new["id"])
    assert [(h["action"], h["changes"].get("title")) for h in history] == [("create", [None, "New"])]
    site.close()


def _without_autoincrement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build tables as the engine did before entity tables were AUTOINCREMENT."""
    import yiti.schema.tables as tables

    def legacy(*args: object, **kwargs: object) -> Table:
        kwargs.pop("sqlite_autoincrement", None)
        return Table(*args, **kwargs)

    monkeypatch.setattr(tables, "Table", legacy)


def test_migration_rebuilds_an_old_sqlite_table_and_seeds_ids_above_deleted_ones(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL sequences never hand out an id twice")
    with monkeypatch.context() as patch:
        _without_autoincrement(patch)
        site = site_for(tmp_path, db_url, BASE)
        site.migrate()
        assert "AUTOINCREMENT" not in table_sql(site, "item")
        records = site.records()
        tea = records.create("item", {"title": "Tea", "price": "12.50"})
        for gone in [records.create("item", {"title": t}) for t in ("Gone 2", "Gone 3")]:
            records.delete("item", gone["id"], version=gone["version"])
        site.close()

    site = site_for(tmp_path, db_url, BASE)
    result = site.migrate()
    assert [str(s) for s in result.steps] == [
        "rebuild table item: AUTOINCREMENT: a deleted record's id is never given again"]
    assert "AUTOINCREMENT" in table_sql(site, "item")
    records = site.records()
    kept = records.get("item", tea["id"])
    assert (kept["title"], str(kept["price"]), kept["version"]) == ("Tea", "12.50", 1)
    # Ids 2 and 3 were deleted before the rebuild, with no row left: the audit trail's
    # record ids seed the counter, so neither is given again.
    new = records.create("item", {"title": "New"})
    assert new["id"] == 4
    assert [h["action"] for h in records.history("item", new["id"])] == ["create"]
    assert site.migrate().steps == []  # rebuilt once
    site.close()


def test_a_rebuild_for_another_change_keeps_autoincrement_and_the_counter(
        tmp_path: Path, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite rebuilds tables to drop a foreign key")
    site = site_for(tmp_path, db_url, LINKED)
    site.migrate()
    records = site.records()
    tea = records.create("item", {"title": "Tea"})
    gone = records.create("item", {"title": "Gone", "origin": tea["id"]})
    records.delete("item", gone["id"], version=gone["version"])
    site.close()

    site = site_for(tmp_path, db_url, BASE)  # drops origin: SQLite rebuilds the table
    steps = [str(s) for s in site.migrate(allow_destructive=True).steps]
    assert "drop column item.origin [destructive]" in steps
    assert "AUTOINCREMENT" in table_sql(site, "item")
    assert site.records().create("item", {"title": "New"})["id"] == gone["id"] + 1
    site.close()
