"""Docs that promise something are checked against the code that keeps the promise."""

from __future__ import annotations

from pathlib import Path

from yiti import api
from yiti.records.hooks import EVENTS
from yiti.records.query import OPERATORS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_hook_event_is_documented():
    text = (DOCS / "hooks.md").read_text()
    missing = [event for event in EVENTS if f"`{event}`" not in text]
    assert missing == []


def test_every_public_api_name_is_documented():
    text = (DOCS / "hooks.md").read_text()
    missing = [name for name in api.__all__ if f"`{name}`" not in text]
    assert missing == []


def test_every_filter_operator_is_documented():
    text = (DOCS / "records.md").read_text()
    missing = [op for op in OPERATORS if f"`{op}`" not in text]
    assert missing == []


def test_the_readme_opens_with_the_two_commands():
    readme = (DOCS.parent / "README.md").read_text()
    commands = [line.strip() for line in readme.splitlines() if line.startswith("make ")]
    assert commands[:2] == ["make run", "make test"]


def test_the_commerce_field_tables_are_what_yiti_fields_prints():
    """docs/commerce.md's tables of the fields other packs link to are generated; a field
    added, renamed or relabelled in an entity file fails here until they are again."""
    from click.testing import CliRunner

    from yiti.cli import main

    text = (DOCS / "commerce.md").read_text(encoding="utf-8")
    kept = text.split("<!-- yiti fields: begin -->\n")[1].split("\n<!-- yiti fields: end -->")[0]
    entities = [line.split("`")[1] for line in kept.splitlines()
                if line.startswith("`") and " (" in line]
    assert "sales_order_line" in entities
    printed = CliRunner().invoke(main, ["fields", *entities])
    assert printed.exit_code == 0, printed.output
    assert kept == printed.output.rstrip("\n")


def test_the_naming_default_is_what_a_record_without_naming_gets(tmp_path: Path) -> None:
    """docs/definitions.md said a record's name defaults to its id; it is empty (an entity
    without ``naming`` is named by its creator, if at all) and people see ``#<id>``."""
    from yiti.site import Site
    from yiti.testing import settings_for, write_pack
    from yiti.web.ui.context import record_title

    row = next(line for line in (DOCS / "definitions.md").read_text().splitlines()
               if line.startswith("| `naming` |"))
    assert row.split(" | ")[-1].startswith('none: the creator may send a `name`')
    assert '`"name": null` in the API' in row and "`#<id>`" in row

    modules = tmp_path / "packs"
    write_pack(modules, "p", {"entities/price.yaml": "entity: price\nfields:\n"
                                                     "  amount: {type: decimal}\n"})
    site = Site(settings_for(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, modules=[modules]))
    try:
        site.migrate()
        price = site.records().create("price", {"amount": "2"})
        named = site.records().create("price", {"amount": "3", "name": "P-3"})
        assert price["name"] is None and named["name"] == "P-3"
        entity = site.model.entities["price"]
        assert record_title(entity, price) == f"#{price['id']}"
    finally:
        site.close()


def test_every_record_event_the_docs_name_exists():
    """scripting.md named an ``after_submit`` event that never existed."""
    import re

    others = {"after_commit", "on_delete", "on_enter", "on_leave", "before_write"}
    named = {(page.name, name) for page in DOCS.glob("*.md")
             for name in re.findall(r"`((?:before|after|on)_[a-z_]+)`", page.read_text())}
    assert sorted((page, name) for page, name in named
                  if name not in EVENTS and name not in others) == []


def test_writing_a_pack_says_what_the_worked_examples_hold():
    """§9 pointed at tests/outsider/ as "a complete example" without saying what is there;
    it now names each pack's parts, which must exist (and stay named as they change)."""
    import re

    text = (DOCS / "writing-a-pack.md").read_text()
    section = text.split("## 9. Test it")[1]
    root = DOCS.parent
    for path in re.findall(r"`(tests/outsider/[^`]+)`", section):
        assert (root / path).exists(), path
    for pack in ("purchasing_outsider", "aftersales_outsider"):
        assert f"`tests/outsider/packs/{pack}/`" in section
    parts = sorted(p.name for p in (root / "tests/outsider/packs/purchasing_outsider").iterdir()
                   if p.name != "module.yaml" and not p.name.startswith("__"))
    assert [p for p in parts if f"`{p}/" not in section and f"`{p}`" not in section] == []
