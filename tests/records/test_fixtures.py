"""Fixture files: loaded once, keyed by their key fields (a link key given as a lookup),
demo files only on request, a bad record named by its file and field; the files every
site needs loaded by `yiti migrate`, which refuses one without a key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from yiti.cli import main
from yiti.errors import DefinitionErrors, ValidationError
from yiti.fixtures import load_fixtures
from yiti.site import Site
from yiti.testing import load, settings_for


def _pack(root: Path, fixtures: dict[str, str]) -> Path:
    pack = root / "packs" / "shelf"
    (pack / "entities").mkdir(parents=True)
    (pack / "fixtures").mkdir()
    (pack / "module.yaml").write_text("name: shelf\nversion: '1'\nlabel: Shelf\n")
    (pack / "entities" / "room.yaml").write_text(
        "entity: room\nfields:\n  title: {type: string, required: true, unique: true}\n")
    (pack / "entities" / "shelf.yaml").write_text(
        "entity: shelf\nfields:\n"
        "  room: {type: link, entity: room, required: true}\n"
        "  code: {type: string, required: true}\n"
        "  size: {type: integer, min: 1}\n")
    for name, text in fixtures.items():
        (pack / "fixtures" / name).write_text(text)
    return root / "packs"


@pytest.fixture
def site_for(tmp_path, db_url):
    sites = []

    def make(fixtures: dict[str, str]) -> Site:
        site = Site(settings_for(db_url, tmp_path), model=load([_pack(tmp_path, fixtures)]))
        site.migrate()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


ROOMS = "entity: room\nkey: [title]\nrecords:\n  - {title: North}\n  - {title: South}\n"
SHELVES = ("entity: shelf\nkey: [room, code]\nrecords:\n"
           "  - {room: {title: North}, code: A, size: 3}\n"
           "  - {room: {title: South}, code: A, size: 4}\n")


def test_loading_twice_creates_nothing_new_even_with_a_link_in_the_key(site_for):
    site = site_for({"10_rooms.yaml": ROOMS, "20_shelves.yaml": SHELVES})
    first = load_fixtures(site)
    assert sorted(first.values()) == [2, 2]
    again = load_fixtures(site)
    assert sorted(again.values()) == [0, 0]
    records = site.records()
    assert records.count("room").value == 2
    rows = records.list("shelf", fields=["code", "size"], sort=["size"]).rows
    assert [(r["code"], r["size"]) for r in rows] == [("A", 3), ("A", 4)]


def test_demo_files_load_only_for_the_demo(site_for):
    site = site_for({"10_rooms.yaml": ROOMS,
                     "90_demo.yaml": "entity: room\ndemo: true\nrecords:\n  - {title: Demo}\n"})
    load_fixtures(site)
    assert site.records().count("room").value == 2
    load_fixtures(site, demo=True)
    assert site.records().count("room").value == 3


def test_a_bad_record_names_its_file_and_field_and_its_file_loads_nothing(site_for):
    bad = ("entity: shelf\nkey: [room, code]\nrecords:\n"
           "  - {room: {title: North}, code: B, size: 2}\n"
           "  - {room: {title: North}, code: C, size: 0}\n")
    site = site_for({"10_rooms.yaml": ROOMS, "20_bad.yaml": bad})
    with pytest.raises(ValidationError) as caught:
        load_fixtures(site)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["shelf/fixtures/20_bad.yaml: records[1].size"]
    assert site.records().count("shelf").value == 0


def test_a_demo_file_linking_to_what_no_file_made_names_its_pack_and_the_generator_way(
        site_for):
    """Outsider report #12: a demo file linking to records another pack's
    ``@api.demo_data`` generator makes fails on a fresh site, because every file loads
    before any generator; the refusal names the pack and file and says so."""
    demo = ("entity: shelf\ndemo: true\nrecords:\n"
            "  - {room: {title: Made by a generator}, code: D}\n")
    site = site_for({"10_rooms.yaml": ROOMS, "50_demo_shelves.yaml": demo})
    with pytest.raises(ValidationError) as caught:
        load_fixtures(site, demo=True)
    [problem] = caught.value.problems
    assert problem.field == "shelf/fixtures/50_demo_shelves.yaml: records[0].room"
    assert problem.message.startswith("no room with title='Made by a generator'")
    assert "@api.demo_data generator" in problem.message


DEMO = "entity: room\ndemo: true\nrecords:\n  - {title: Demo}\n"


def test_a_file_every_site_needs_without_a_key_is_refused_before_anything_loads(site_for):
    site = site_for({"10_rooms.yaml": ROOMS, "20_shelves.yaml": "entity: shelf\nrecords:\n"
                     "  - {room: {title: North}, code: A}\n", "90_demo.yaml": DEMO})
    for demo in (False, True):
        with pytest.raises(DefinitionErrors) as caught:
            load_fixtures(site, demo=demo)
        assert [(e.path.rsplit("/", 1)[-1], e.key) for e in caught.value.errors] == [
            ("20_shelves.yaml", "key")]
    assert site.records().count("room").value == 0


@pytest.fixture
def yiti(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """``yiti(fixtures, *args)``: the CLI over the shelf pack with ``fixtures``, on a
    database of its own; its result, and the site to look at the database."""
    for name in ("YITI_PACKS", "YITI_OVERLAY", "YITI_ROOT", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("YITI_INSTANCE", str(tmp_path / "instance"))
    sites = []

    def run(fixtures: dict[str, str] | None, *args: str):  # noqa: ANN202
        if fixtures is not None:
            monkeypatch.setenv("YITI_MODULES", str(_pack(tmp_path, fixtures)))
        result = CliRunner().invoke(main, list(args))
        site = Site(settings_for(db_url, tmp_path, modules=[tmp_path / "packs"]))
        sites.append(site)
        return result, site

    yield run
    for site in sites:
        site.close()


def test_migrate_loads_the_fixtures_every_site_needs_and_keeps_what_users_changed(yiti):
    result, site = yiti({"10_rooms.yaml": ROOMS, "20_shelves.yaml": SHELVES,
                         "90_demo.yaml": DEMO}, "migrate", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output and "fixture" not in result.output
    result, site = yiti(None, "migrate")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Loaded 4 fixture record(s) from 2 file(s); records "
                                  "already there were left as they are.\n")
    records = site.records()
    assert records.count("room").value == 2  # the demo room waits for `yiti demo`
    shelf = records.list("shelf", sort=["size"], limit=1).rows[0]
    records.update("shelf", shelf["id"], {"size": 9}, version=shelf["version"])
    result, site = yiti(None, "migrate")
    assert result.exit_code == 0, result.output
    assert "Loaded 0 fixture record(s) from 2 file(s)" in result.output
    records = site.records()
    assert (records.count("room").value, records.count("shelf").value) == (2, 2)
    assert records.get("shelf", shelf["id"])["size"] == 9


def test_migrate_refuses_a_file_every_site_needs_without_a_key(yiti):
    keyless = "entity: room\nrecords:\n  - {title: East}\n"
    result, site = yiti({"10_rooms.yaml": ROOMS, "20_more.yaml": keyless}, "migrate")
    assert result.exit_code == 1
    assert "20_more.yaml:1: key: a fixture file without `demo: true`" in result.stderr
    assert "e.g. `key: [code]`" in result.stderr
    assert site.records().count("room").value == 0  # migrated, but no fixture loaded
