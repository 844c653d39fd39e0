"""A naming series may take a stored field's value (docs/records.md: ``{channel}``, so each
channel counts on its own). The record service always could; ``yiti check`` refused
the token as unknown, so a pack author following the docs could not use it."""

from __future__ import annotations

from pathlib import Path

from yiti.site import Site as YitiSite
from yiti.testing import load, settings_for

from .conftest import Site, located, only

ORDER = """
    entity: order
    naming:
      series: "SO-{channel}-{YY}{####}"
    fields:
      channel: {type: select, options: [web, shop], required: true}
"""


def test_a_field_token_is_accepted_and_counts_per_value(site: Site, db_url: str,
                                                        tmp_path: Path) -> None:
    site.pack("shop", {"entities/order.yaml": ORDER})
    assert site.check() == []
    yiti = YitiSite(settings_for(db_url, tmp_path, modules=[site.modules]),
                    model=load([site.modules]))
    try:
        yiti.migrate()
        records = yiti.records()
        names = [records.create("order", {"channel": c})["name"]
                 for c in ("web", "shop", "web")]
    finally:
        yiti.close()
    year = names[0][7:9]
    assert names == [f"SO-web-{year}0001", f"SO-shop-{year}0001", f"SO-web-{year}0002"]


def test_an_unknown_field_token_is_refused_with_a_hint(site: Site) -> None:
    site.pack("shop", {"entities/order.yaml": ORDER.replace("{channel}", "{chanel}")})
    located(only(site.check()), "modules/shop/entities/order.yaml", 3, "naming.series",
            "unknown token {chanel} in series 'SO-{chanel}-{YY}{####}' "
            "(did you mean 'channel'?)")
