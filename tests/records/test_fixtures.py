"""Fixture files: loaded once, keyed by their key fields (a link key given as a lookup),
demo files only on request, a bad record named by its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from yiti.errors import ValidationError
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
    bad = ("entity: shelf\nrecords:\n"
           "  - {room: {title: North}, code: B, size: 2}\n"
           "  - {room: {title: North}, code: C, size: 0}\n")
    site = site_for({"10_rooms.yaml": ROOMS, "20_bad.yaml": bad})
    with pytest.raises(ValidationError) as caught:
        load_fixtures(site)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["20_bad.yaml: records[1].size"]
    assert site.records().count("shelf").value == 0
