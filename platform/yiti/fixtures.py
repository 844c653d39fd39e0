"""Fixtures: records a pack ships (roles, a chart of accounts, demo data).

A fixture file ``modules/<pack>/fixtures/*.yaml`` names an entity and lists records::

    entity: contact
    demo: true          # only loaded by `yiti demo`
    key: [email]        # a record whose key fields match one already there is skipped
                        # (a link key may be given as a lookup too)
    records:
      - {full_name: Ann Lee, email: ann@example.com, group: {name: Friends}}

A link may be given as a lookup (``{field: value}``) instead of an id. Files load in
pack dependency order, then by file name; every record goes through the record service.

Demo data too large for a file comes from generators a pack marks in its hooks with
:func:`yiti.api.demo_data`; ``yiti demo`` runs them, in pack order, after the files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from yiti.errors import ValidationError
from yiti.site import Site


def fixture_files(site: Site) -> list[tuple[str, Path]]:
    out = []
    for module in site.model.modules.values():
        folder = Path(module.path) / "fixtures"
        if folder.is_dir():
            out += [(module.name, p) for p in sorted(folder.glob("*.y*ml"))]
    return out


def load_fixtures(site: Site, *, demo: bool = False) -> dict[str, int]:
    """Create the fixtures' records that aren't there yet; returns counts per file."""
    records = site.records()
    counts: dict[str, int] = {}
    for _module, path in fixture_files(site):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("demo") and not demo:
            continue
        entity = data["entity"]
        key = data.get("key") or []
        created = 0
        with records.unit_of_work():
            for i, values in enumerate(data.get("records") or []):
                if key and _exists(records, entity, key, values):
                    continue
                try:
                    records.create(entity, values)
                except ValidationError as error:
                    raise ValidationError(
                        [type(p)(f"{path.name}: records[{i}].{p.field}", p.message, p.code)
                         for p in error.problems]) from None
                created += 1
        counts[str(path)] = created
    if demo:
        counts.update(run_demo_generators(site))
    return counts


def run_demo_generators(site: Site) -> dict[str, int]:
    """Run every ``@api.demo_data`` generator; returns the records each created."""
    from yiti.api import DEMO_MARK, DemoContext
    from yiti.extensions import marked

    counts = {}
    for pack, fn, _mark in marked(site, DEMO_MARK):
        counts[f"{pack}:{fn.__name__}"] = int(fn(DemoContext(site, site.records())) or 0)
    return counts


def _exists(records: Any, entity: str, key: list[str], values: dict[str, Any]) -> bool:
    fields = records.model.entities[entity].fields
    filters = []
    for name in key:
        value = values.get(name)
        if isinstance(value, dict) and name in fields and fields[name].type == "link":
            # A link key given as a lookup: the record can only exist if its target does.
            found = records.list(fields[name].target, filters=list(value.items()), limit=2,
                                 fields=["id"]).rows
            if len(found) != 1:
                return False
            value = found[0]["id"]
        filters.append((name, "=", value))
    return bool(records.list(entity, filters=filters, limit=1, fields=["id"]).rows)
