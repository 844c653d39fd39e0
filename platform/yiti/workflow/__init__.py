"""Workflows and approvals: state machines over records, acting through the record service.

Importing this package registers the ``workflows`` kind of definition file (checked by
``yiti check``), the engine's tables and its escalation jobs. A site gets its engine
with :func:`install` (the web layer does it)::

    from yiti import workflow

    engine = workflow.install(site)
    engine.act(actor, "expense_claim", 12, "approve", comment="ok", version=3)

See docs/workflow.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yiti.workflow import kind as _kind  # noqa: F401  (registers the definition kind)
from yiti.workflow import tables as _tables  # noqa: F401  (registers the tables)
from yiti.workflow.engine import Workflows
from yiti.workflow.spec import Workflow, parse, resolve

if TYPE_CHECKING:
    from yiti.site import Site

__all__ = ["Workflow", "Workflows", "install", "parse", "resolve", "workflows_of"]


def install(site: Site, *, clock: Any = None) -> Workflows:
    """Give ``site`` its workflow engine (``site.workflows``): parse the model's
    workflows, add the tables if missing, guard state fields. Again is harmless."""
    existing = getattr(site, "workflows", None)
    if isinstance(existing, Workflows):
        if clock is not None:
            existing.clock = clock
        return existing
    from yiti.workflow import escalation  # noqa: F401  (registers the jobs)
    from yiti.workflow.guard import guard_fields, guard_lifecycle, start_state, started
    from yiti.workflow.tables import ensure_tables
    from yiti.workflow.templates import expand

    ensure_tables(site)
    by_entity = {}
    for definition in site.model.workflows.values():
        location = str(definition.location) if definition.location else None
        wf = parse(expand(dict(definition.body)), module=definition.module, location=location)
        by_entity[wf.entity] = resolve(wf, site.model.entities)
    engine = Workflows(site, by_entity, clock)
    site.workflows = engine  # type: ignore[attr-defined]
    site.hooks.add("*", "before_validate", start_state)
    site.hooks.add("*", "validate", guard_fields)
    site.hooks.add("*", "after_save", started)
    site.hooks.add("*", "on_submit", guard_lifecycle)
    site.hooks.add("*", "on_cancel", guard_lifecycle)
    return engine


def workflows_of(site: Site) -> Workflows:
    """``site``'s workflow engine, installed on first use."""
    existing = getattr(site, "workflows", None)
    return existing if isinstance(existing, Workflows) else install(site)
