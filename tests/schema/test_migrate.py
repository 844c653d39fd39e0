"""Migrations: additive changes apply, renames keep data, destructive ones are refused."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from yiti.definitions import load_model
from yiti.errors import MigrationRefused
from yiti.site import Site
from yiti.testing import settings_for

BASE = """
entity: item
label: {en: Item, zh-CN: 物品}
fields:
  title: {type: string, max_length: 40, required: true}
  price: {type: money, precision: 14}
  code: {type: text}
"""


def write_pack(root: Path, *entities: str) -> Path:
    pack = root / "packs" / "shop"
    (pack / "entities").mkdir(parents=True, exist_ok=True)
    for old in (pack / "entities").glob("*.yaml"):
        old.unlink()
    (pack / "module.yaml").write_text("name: shop\nversion: '1.0'\nlabel: Shop\n")
    for i, text in enumerate(entities):
        (pack / "entities" / f"e{i}.yaml").write_text(textwrap.dedent(text))
    return root / "packs"


def site_for(tmp_path: Path, db_url: str, *entities: str) -> Site:
    modules = write_pack(tmp_path, *entities)
    return Site(settings_for(db_url, tmp_path, modules=[modules]),
                model=load_model([modules]))


def columns(site: Site, table: str) -> dict[str, object]:
    with site.engine.connect() as conn:
        return {c["name"]: c["type"] for c in inspect(conn).get_columns(table)}


def test_first_migration_creates_tables_and_second_does_nothing(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    result = site.migrate()
    assert "create table item" in [str(s) for s in result.steps]
    assert set(columns(site, "item")) >= {"id", "name", "version", "title", "price", "code"}
    again = site.migrate()
    assert again.steps == []
    with site.engine.connect() as conn:
        log = conn.execute(select(site.tables["yiti_migration"])).all()
    assert len(log) == 1  # a migration with nothing to do is not recorded
    site.close()


def test_adding_a_field_adds_a_column_and_keeps_rows(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "Tea", "price": "12.50"})
    site.close()
    site = site_for(tmp_path, db_url, BASE + "  stock: {type: decimal, scale: 3}\n"
                    "  origin: {type: link, entity: item}\n")
    result = site.migrate()
    assert sorted(str(s) for s in result.steps) == [
        "add column item.origin: BIGINT", "add column item.stock: NUMERIC(18, 3)",
        "add foreign key item: fk_item_origin_item", "add index item.origin"]
    assert foreign_keys(site, "item") == {("origin", "item")}  # in this migration, not the next
    rows = site.records().list("item").rows
    assert rows[0]["title"] == "Tea" and rows[0]["price"] == Decimal("12.50")
    assert rows[0]["stock"] is None
    tea = rows[0]["id"]
    copy = site.records().create("item", {"title": "Tea 2", "origin": tea})
    assert copy["origin"] == tea
    site.close()


def test_renamed_field_keeps_its_data(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "Tea"})
    site.close()
    site = site_for(tmp_path, db_url, BASE.replace(
        "title: {type: string, max_length: 40, required: true}",
        "label_text: {type: string, max_length: 40, required: true, renamed_from: title}"))
    result = site.migrate()
    assert [s.kind for s in result.steps] == ["rename column"]
    assert site.records().list("item").rows[0]["label_text"] == "Tea"
    assert "title" not in columns(site, "item")
    site.close()


def test_renamed_entity_keeps_its_data(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "Tea"})
    site.close()
    site = site_for(tmp_path, db_url, BASE.replace("entity: item", "entity: product\n"
                                                   "renamed_from: item"))
    result = site.migrate()
    assert result.steps[0].kind == "rename table"
    assert site.records().list("product").rows[0]["title"] == "Tea"
    site.close()


def test_dropping_a_field_is_refused_unless_allowed(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "Tea", "code": "T-1"})
    site.close()
    site = site_for(tmp_path, db_url, BASE.replace("  code: {type: text}\n", ""))
    with pytest.raises(MigrationRefused) as refused:
        site.migrate()
    assert "drop column item.code [destructive]" in refused.value.message
    assert "code" in columns(site, "item")  # nothing changed
    result = site.migrate(allow_destructive=True)
    assert [str(s) for s in result.destructive] == ["drop column item.code [destructive]"]
    assert "code" not in columns(site, "item")
    assert site.records().list("item").rows[0]["title"] == "Tea"
    site.close()


def test_dropping_an_entity_is_refused_unless_allowed(tmp_path, db_url):
    other = "entity: note\nfields:\n  body: {type: text}\n"
    site = site_for(tmp_path, db_url, BASE, other)
    site.migrate()
    site.close()
    site = site_for(tmp_path, db_url, BASE)
    with pytest.raises(MigrationRefused, match=r"drop table note \[destructive\]"):
        site.migrate()
    with site.engine.connect() as conn:
        assert "note" in inspect(conn).get_table_names()
    site.migrate(allow_destructive=True)
    with site.engine.connect() as conn:
        assert "note" not in inspect(conn).get_table_names()
    site.close()


def test_widening_applies_and_narrowing_is_refused(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "A fairly long tea name", "price": "3.25"})
    site.close()
    wider = BASE.replace("max_length: 40", "max_length: 80").replace(
        "price: {type: money, precision: 14}", "price: {type: money, precision: 16, scale: 4}")
    site = site_for(tmp_path, db_url, wider)
    result = site.migrate()
    assert {s.kind for s in result.steps} == {"convert column"}
    assert not result.destructive
    row = site.records().list("item").rows[0]
    assert row["price"] == Decimal("3.2500") and row["title"] == "A fairly long tea name"
    site.close()
    narrower = BASE.replace("max_length: 40", "max_length: 10")
    site = site_for(tmp_path, db_url, narrower)
    with pytest.raises(MigrationRefused, match="destructive"):
        site.migrate()
    site.close()


def test_type_change_with_conversion_reports_failing_rows_in_a_dry_run(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    records = site.records()
    good = records.create("item", {"title": "Tea", "code": " 42 "})
    bad = records.create("item", {"title": "Cake", "code": "forty-two"})
    site.close()
    converted = BASE.replace("code: {type: text}", "code: {type: integer, convert: parse}")
    site = site_for(tmp_path, db_url, converted)
    dry = None
    with pytest.raises(MigrationRefused) as refused:
        dry = site.migrate(dry_run=True)
    assert dry is None
    assert refused.value.details["failures"] == [
        f"item id={bad['id']} code='forty-two': must be a whole number"]
    # Nothing changed: the column is still text and both values are there.
    raw = site.tables["item"]
    with site.engine.connect() as conn:
        values = dict(conn.execute(select(raw.c.id, raw.c.title)).all())
    assert values == {good["id"]: "Tea", bad["id"]: "Cake"}
    site.close()

    # Fix the bad row with the old definitions, then the conversion goes through.
    site = site_for(tmp_path, db_url, BASE)
    site.records().update("item", bad["id"], {"code": "7"})
    site.close()
    site = site_for(tmp_path, db_url, converted)
    assert site.migrate(dry_run=True).dry_run
    site.migrate()
    rows = {r["id"]: r["code"] for r in site.records().list("item").rows}
    assert rows == {good["id"]: 42, bad["id"]: 7}
    site.close()


def test_type_change_without_conversion_is_destructive(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "Tea", "code": "x"})
    site.close()
    site = site_for(tmp_path, db_url, BASE.replace("code: {type: text}", "code: {type: date}"))
    with pytest.raises(MigrationRefused, match=r"convert column item.code: text -> date"):
        site.migrate()
    # Allowed: values that don't convert become empty, and are reported.
    result = site.migrate(allow_destructive=True)
    assert len(result.failures) == 1
    assert site.records().list("item").rows[0]["code"] is None
    site.close()


def test_adding_a_unique_field_over_duplicates_is_refused(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE)
    site.migrate()
    site.records().create("item", {"title": "Tea"})
    site.records().create("item", {"title": "Tea"})
    site.close()
    site = site_for(tmp_path, db_url, BASE.replace("required: true}", "required: true, unique: true}"))
    with pytest.raises(MigrationRefused, match="same title"):
        site.migrate()
    site.close()


def test_search_fields_get_trigram_indexes_on_postgresql(tmp_path, db_url):
    site = site_for(tmp_path, db_url, BASE.replace("fields:", "search_fields: [title, code]\n"
                                                   "fields:"))
    steps = [str(s) for s in site.migrate().steps if "search" in s.kind]
    if site.engine.dialect.name == "postgresql":
        # the search fields and the name, every column a search looks in
        assert steps == ["add search index item.code", "add search index item.name",
                         "add search index item.title"]
        from sqlalchemy import text

        with site.engine.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(text(
                "EXPLAIN SELECT id FROM item WHERE title ILIKE '%tea%' OR code ILIKE '%tea%' "
                "OR name ILIKE '%tea%'")).scalars())
        assert "trgm_item_title" in plan and "trgm_item_name" in plan
        assert "Seq Scan" not in plan
    else:  # SQLite has no trigram indexes: search scans, and nothing is planned
        assert steps == []
    assert site.migrate().steps == []
    site.close()


#: aaa <-> bbb, aaa -> ccc -> ddd -> aaa and aaa -> aaa: no order creates them inline.
CYCLE = {"aaa": {"other": "bbb", "ref": "ccc", "parent": "aaa"}, "bbb": {"back": "aaa"},
         "ccc": {"next": "ddd"}, "ddd": {"first": "aaa"}}


def linking(links: dict[str, dict[str, str]]) -> list[str]:
    """Entity definitions with a title and the link fields ``links`` gives each."""
    return ["".join([f"entity: {name}\nfields:\n  title: {{type: string}}\n",
                     *(f"  {f}: {{type: link, entity: {target}}}\n"
                       for f, target in fields.items())])
            for name, fields in links.items()]


def foreign_keys(site: Site, table: str) -> set[tuple[str, str]]:
    with site.engine.connect() as conn:
        return {(fk["constrained_columns"][0], fk["referred_table"])
                for fk in inspect(conn).get_foreign_keys(table)}


def link_them(site: Site) -> None:
    """Records that point at each other round every cycle, and the links hold."""
    records = site.records()
    a = records.create("aaa", {"title": "a"})
    b = records.create("bbb", {"title": "b", "back": a["id"]})
    d = records.create("ddd", {"title": "d", "first": a["id"]})
    c = records.create("ccc", {"title": "c", "next": d["id"]})
    a = records.update("aaa", a["id"], {"other": b["id"], "ref": c["id"],
                                        "parent": a["id"]})
    assert (a["other"], a["ref"], a["parent"]) == (b["id"], c["id"], a["id"])


def test_links_in_a_cycle_migrate_on_a_new_database(tmp_path, db_url):
    site = site_for(tmp_path, db_url, *linking(CYCLE))
    result = site.migrate()
    assert {"create table aaa", "create table bbb", "create table ccc",
            "create table ddd"} <= {str(s) for s in result.steps}
    if site.engine.dialect.name == "postgresql":  # after the tables; SQLite has them inline
        assert {str(s) for s in result.steps if s.kind == "add foreign key"} == {
            "add foreign key aaa: fk_aaa_other_bbb", "add foreign key aaa: fk_aaa_ref_ccc",
            "add foreign key bbb: fk_bbb_back_aaa", "add foreign key ccc: fk_ccc_next_ddd",
            "add foreign key ddd: fk_ddd_first_aaa"}
    assert foreign_keys(site, "aaa") == {("other", "bbb"), ("ref", "ccc"), ("parent", "aaa")}
    assert foreign_keys(site, "bbb") == {("back", "aaa")}
    assert foreign_keys(site, "ddd") == {("first", "aaa")}
    link_them(site)
    assert site.migrate().steps == []
    site.close()


def test_a_later_migration_closes_a_cycle_between_existing_tables(tmp_path, db_url):
    site = site_for(tmp_path, db_url, *linking({**CYCLE, "aaa": {"ref": "ccc"}, "ccc": {}}))
    site.migrate()
    site.close()
    site = site_for(tmp_path, db_url, *linking(CYCLE))
    steps = {str(s) for s in site.migrate().steps}
    assert {"add column aaa.other: BIGINT", "add column aaa.parent: BIGINT",
            "add column ccc.next: BIGINT"} <= steps
    assert foreign_keys(site, "aaa") == {("other", "bbb"), ("ref", "ccc"), ("parent", "aaa")}
    assert foreign_keys(site, "ccc") == {("next", "ddd")}
    link_them(site)
    assert site.migrate().steps == []
    site.close()
