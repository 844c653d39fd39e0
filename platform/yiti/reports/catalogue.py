"""The site's reports and dashboards: the packs', the overlay's, and the builder's.

Reports in packs and in the site overlay load with the model at start-up. Reports an
analyst saves from the builder are written as YAML into the overlay's ``reports/`` folder
(``settings.overlay``, or ``<instance>/overlay``), where ``yiti check`` validates them like
any other definition; this module also reads that folder again whenever a file in it
changes, so a saved report can be opened at once, without a restart, in every process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from yiti.definitions.model import Definition
from yiti.definitions.source import read_source
from yiti.definitions.validate import validate
from yiti.errors import DefinitionError, FieldProblem, NotFound, ValidationError
from yiti.permissions.policy import Actor
from yiti.reports import spec

_lock = threading.Lock()
_saved: dict[Path, tuple[tuple[tuple[str, float], ...], dict[str, spec.Report]]] = {}


def overlay_reports(settings: Any) -> Path:
    """The folder builder reports are saved in."""
    base = settings.overlay or settings.instance_path / "overlay"
    return Path(base) / "reports"


def saved_reports(site: Any) -> dict[str, spec.Report]:
    """Reports in the overlay's ``reports/`` folder, re-read when any file changed.
    Files with problems are left out (``yiti check`` lists them)."""
    folder = overlay_reports(site.settings)
    if not folder.is_dir():
        return {}
    stamp = tuple(sorted((p.name, p.stat().st_mtime) for p in folder.glob("*.y*ml")))
    with _lock:
        cached = _saved.get(folder)
        if cached and cached[0] == stamp:
            return cached[1]
    found: dict[str, spec.Report] = {}
    for path in sorted(folder.glob("*.y*ml")):
        try:
            source = read_source(path)
        except (OSError, DefinitionError):
            continue
        if source.problems:
            continue
        data = source.data
        if not isinstance(data, dict) or validate(source, "report.schema.json"):
            continue
        report = spec.read(str(data["report"]), data, "site")
        if not spec.problems(site.model, report):
            found[report.name] = report
    with _lock:
        _saved[folder] = (stamp, found)
    return found


def all_reports(site: Any) -> dict[str, spec.Report]:
    """Every report of the site by name: packs, overlay, then builder (which wins)."""
    out = {name: spec.read(name, d.body, d.module) for name, d in site.model.reports.items()}
    out.update(saved_reports(site))
    return out


def may_see(site: Any, actor: Actor, report: spec.Report) -> bool:
    """Whether the report is offered to ``actor``: its roles (if any), and read access to
    its entity. Running it checks the entity again, through the policy."""
    if report.roles and not (actor.system or actor.roles & set(report.roles)
                             or "Administrator" in actor.roles):
        return False
    entity = site.model.entities.get(report.entity)
    if entity is None:
        return False
    try:
        site.policy.check(actor, entity, "read", None)
    except Exception:  # noqa: BLE001 - Forbidden, NotFound: not offered
        return False
    return True


def reports_for(site: Any, actor: Actor) -> list[spec.Report]:
    return [r for r in all_reports(site).values() if may_see(site, actor, r)]


def report_of(site: Any, name: str, actor: Actor | None = None) -> spec.Report:
    """The report called ``name`` (NotFound when unknown or not offered to ``actor``)."""
    report = all_reports(site).get(name)
    if report is None or (actor is not None and not may_see(site, actor, report)):
        raise NotFound(f"report {name!r} not found")
    return report


def dashboards_for(site: Any, actor: Actor) -> list[Definition]:
    """The dashboards shown to ``actor`` (by role), in pack order."""
    found = site.model.extra.get("dashboards", {})
    out = []
    for d in found.values():
        roles = set(d.body.get("roles") or ())
        if not roles or actor.system or actor.roles & roles or "Administrator" in actor.roles:
            out.append(d)
    return out


def save_report(site: Any, body: Mapping[str, Any]) -> spec.Report:
    """Check a builder report and write it to the overlay as ``reports/<name>.yaml``.

    Refuses a name a pack already uses (a site replaces a pack's report by editing the
    overlay by hand, on purpose) and any problem ``yiti check`` would report.
    """
    from yiti.definitions.validate import validator

    data = {k: v for k, v in body.items() if v not in (None, [], {}, "")}
    checker = validator("report.schema.json")
    assert checker is not None
    problems = [FieldProblem(".".join(str(p) for p in e.absolute_path) or "report", e.message,
                             "schema") for e in checker.iter_errors(data)]
    if problems:
        raise ValidationError(problems)
    report = spec.read(str(data["report"]), data, "site")
    if report.name in site.model.reports:
        raise ValidationError([FieldProblem("report", f"{report.name!r} is a pack's report; "
                                            "choose another name", "taken")])
    issues = spec.problems(site.model, report)
    if issues:
        raise ValidationError([FieldProblem(".".join(str(p) for p in at), message, "invalid")
                               for at, message in issues])
    folder = overlay_reports(site.settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report.name}.yaml"
    text = yaml.safe_dump(_plain(data), allow_unicode=True, sort_keys=False)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text("# Saved from the report builder; `yiti check` validates it.\n" + text,
                   encoding="utf-8")
    tmp.replace(path)
    return report


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
