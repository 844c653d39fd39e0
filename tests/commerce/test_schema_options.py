"""The commerce API takes carriers and priorities from the entities (x-yiti-options in
hooks/schemas.py): a carrier a site's overlay adds is one the API accepts and documents."""

from __future__ import annotations

from pathlib import Path

from yiti.config import PROJECT_ROOT
from yiti.definitions import register_kind
from yiti.permissions.kind import PERMISSIONS
from yiti.site import Site
from yiti.testing import settings_for
from yiti.web.pack_endpoints import endpoints_of


def test_carriers_and_priorities_are_the_entities(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    (overlay / "extends").mkdir(parents=True)
    (overlay / "extends" / "shipment.yaml").write_text(
        "extends: shipment\nfields:\n  carrier: {options: [{value: sto, label: STO}]}\n",
        encoding="utf-8")
    register_kind(PERMISSIONS)
    site = Site(settings_for(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path,
                             modules=[PROJECT_ROOT / "modules"], packs=["commerce"],
                             overlay=overlay))
    try:
        specs = {spec.name: spec for pack, spec in endpoints_of(site) if pack == "commerce"}
    finally:
        site.close()
    carrier = specs["orders/ship"].request["properties"]["carrier"]
    assert carrier["enum"] == ["sf", "jd", "zto", "yto", "ems", "pickup", "sto", None]
    for name in ("checkout", "orders/place"):
        priority = specs[name].request["properties"]["priority"]
        assert priority["enum"] == ["normal", "vip", "express", None]
