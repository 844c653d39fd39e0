"""Fixtures: records a pack ships (roles, a chart of accounts, demo data).

A fixture file ``modules/<pack>/fixtures/*.yaml`` names an entity and lists records::

    entity: contact
    demo: true          # only loaded by `yiti demo`; without it, by `yiti migrate` too
    key: [email]        # a record whose key fields match one already there is skipped
                        # (a link key may be given as a lookup too)
    records:
      - {full_name: Ann Lee, email: ann@example.com, group: {name: Friends}}

A link may be given as a lookup (``{field: value}``) instead of an id. Files load in
pack dependency order, then by file name; every record goes through the record service.

Loading again creates only the records not there yet and changes none that are: what
users changed stays as they left it. A file every site needs (no ``demo: true``) must
have a ``key``, since every ``yiti migrate`` loads it: without one, each run would
create its records again.

Demo data too large for a file comes from generators a pack marks in its hooks with
:func:`yiti.api.demo_data`; ``yiti demo`` runs them, in pack order, after the files.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml

from yiti.definitions.model import SYSTEM_COLUMNS, Model
from yiti.definitions.source import read_source
from yiti.errors import (
    DefinitionError,
    DefinitionErrors,
    FieldProblem,
    ValidationError,
    did_you_mean,
)
from yiti.site import Site


def fixture_files(site: Site) -> list[tuple[str, Path]]:
    return _files_of(site.model)


def _files_of(model: Model) -> list[tuple[str, Path]]:
    """(pack, file) of every fixture file, in pack order, then by file name."""
    out = []
    for module in model.modules.values():
        folder = Path(module.path) / "fixtures"
        if folder.is_dir():
            out += [(module.name, p) for p in sorted(folder.glob("*.y*ml"))]
    return out


def fixture_problems(model: Model, left_out: Collection[str] = ()) -> list[DefinitionError]:
    """What ``yiti check`` says of the packs' fixture files, each at its file and line:
    YAML that does not read, an unknown entity, a key field the entity does not have, a
    record field it does not have (in files every site needs), and a file every site
    needs without a ``key``. (The values themselves, and demo records, are checked when
    the records are created.) Files of the entities ``left_out`` of a partial model are
    not checked."""
    return [problem for _module, path in _files_of(model)
            for problem in _file_problems(model, path, left_out)]


def _file_problems(model: Model, path: Path, left_out: Collection[str]
                   ) -> list[DefinitionError]:
    source = read_source(path)  # as the definitions are read: data with every key's line
    data = source.data
    if source.problems or str(data.get("entity")) in left_out:
        return source.problems
    entity = model.entities.get(str(data.get("entity")))
    if entity is None:
        return [source.error(("entity",), f"unknown entity {data.get('entity')!r}",
                             did_you_mean(str(data.get("entity")), model.entities))]
    problems = []
    if not data.get("demo") and not data.get("key"):
        problems.append(_keyless(source.display))
    known = set(entity.fields) | set(SYSTEM_COLUMNS)
    key = data.get("key") or []
    for name in key if isinstance(key, list) else [key]:
        if name not in known:
            problems.append(source.error(("key",), f"{entity.name} has no field {name!r}",
                                         did_you_mean(str(name), entity.fields)))
    # demo data may name fields another pack adds (an extension the site may not load):
    # its records are checked when `yiti demo` creates them
    records = (data.get("records") if not data.get("demo") else None) or []
    for i, values in enumerate(records if isinstance(records, list) else []):
        for name in values if isinstance(values, dict) else []:
            if name not in known:
                problems.append(source.error(("records", i, name),
                                             f"{entity.name} has no field {name!r}",
                                             did_you_mean(str(name), entity.fields)))
    return problems


def load_fixtures(site: Site, *, demo: bool = False) -> dict[str, int]:
    """Create the fixtures' records that aren't there yet; returns counts per file.

    Without ``demo``, the files every site needs (``yiti migrate``); with it, the demo
    files too (``yiti demo``). A file every site needs that has no ``key`` is refused
    before anything is loaded (:func:`_keyless`)."""
    records = site.records()
    counts: dict[str, int] = {}
    files = [(module, path, _read(path)) for module, path in fixture_files(site)]
    files = [(module, path, data) for module, path, data in files
             if demo or not data.get("demo")]
    missing = [_keyless(str(path)) for _module, path, data in files
               if not data.get("demo") and not data.get("key")]
    if missing:
        raise DefinitionErrors(missing)
    for module, path, data in files:
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
                        [type(p)(f"{module}/fixtures/{path.name}: records[{i}].{p.field}",
                                 p.message + _later_hint(data, p), p.code)
                         for p in error.problems]) from None
                created += 1
        counts[str(path)] = created
    if demo:
        counts.update(run_demo_generators(site))
    return counts


def _later_hint(data: Mapping[str, Any], problem: FieldProblem) -> str:
    """For a demo file's link that finds nothing: the likely cause, since fixture files
    all load before any pack's ``@api.demo_data`` generator runs."""
    if not data.get("demo") or problem.code != "link":
        return ""
    return (" (demo fixture files load before every pack's @api.demo_data generator, so "
            "they cannot link to the records one creates: create these in a generator "
            "of this pack instead; see docs/writing-a-pack.md)")


def _keyless(path: str) -> DefinitionError:
    """The refusal of a file every site needs without a ``key``: ``yiti migrate`` loads
    it at every run, and with nothing to find its records by, each run would create
    them again."""
    return DefinitionError(path, 1, "key", "a fixture file without `demo: true` is "
                           "loaded by every `yiti migrate` and needs a key, or each run "
                           "creates its records again",
                           "add the fields that find a record already there, e.g. "
                           "`key: [code]`; or mark demo data `demo: true`")


def _read(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


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
