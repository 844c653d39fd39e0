"""`yiti check` through click: exit codes and output lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from yiti.cli import main

from .conftest import EXAMPLE_PACKS, Site


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("YITI_MODULES", "YITI_PACKS", "YITI_OVERLAY", "YITI_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("YITI_INSTANCE", str(tmp_path / "instance"))


def run(*args: str):
    return CliRunner().invoke(main, ["check", *args])


def test_check_good_packs():
    result = run(*(arg for pack in EXAMPLE_PACKS for arg in ("--modules", str(pack))))
    assert result.exit_code == 0, result.output
    assert result.output == (
        "ok: 2 packs, 6 entities, 2 forms, 2 views, 1 workflows, 4 reports, 1 dashboards, "
        "1 permissions\n"
    )


def test_check_selected_pack_and_overlay(site: Site):
    site.write("overlay/views/contact.yaml", "view: contact\nentity: contact\ncolumns: [email]\n")
    args = ["--modules", str(EXAMPLE_PACKS[0].parent), "--packs", "example",
            "--overlay", "overlay"]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 2 packs, 6 entities")  # example and the site


def test_check_bad_packs(site: Site):
    site.pack("shop", {
        "entities/order.yaml": "entity: order\nfields:\n  total: {type: money, scael: 2}\n",
        "views/order.yaml": "view: order\nentity: ordr\n",
    })
    result = run("--modules", "modules")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "modules/shop/entities/order.yaml:3: fields.total.scael: unknown key 'scael' "
        "(did you mean 'scale'?)",
        "modules/shop/views/order.yaml:2: entity: unknown entity 'ordr' "
        "(did you mean 'order'?)",
        "Not checked until the problems above are fixed: formulas, required_if and rules "
        "of entity order.",
        "2 problem(s) in 2 file(s).",
    ]


def test_check_never_shows_a_traceback(site: Site, monkeypatch: pytest.MonkeyPatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("yiti.definitions.loader.build_partial", broken)
    site.pack("shop")
    result = run("--modules", "modules")
    assert result.exit_code == 2
    assert "modules: error: RuntimeError: disk on fire" in result.output
    assert "Traceback" not in result.output
