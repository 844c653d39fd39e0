"""A record's change history as people read it, for its detail page.

The audit trail keeps each change as JSON (``{"status": ["draft", "submitted"]}``, a
link as its id). The page shows them like the record itself: an option's label in the
user's language, a linked record's title, a time in the site's time zone, through the
same :func:`yiti.web.ui.present.display`. Linked titles are read in one query per linked
entity for the whole history. An attachment is named by its file's name (one query for
the history's files), with a link to the download for a file the reader may still read
(:func:`readable_files`). A workflow action is named by its label, in both histories
(:func:`action_label`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from yiti.definitions.model import Entity, Field, label_text
from yiti.errors import NotFound
from yiti.records.service import Records
from yiti.values import parse
from yiti.web.ui import present
from yiti.web.ui.context import file_names, site, titles_by_entity

if TYPE_CHECKING:
    from yiti.workflow.spec import Workflow

#: How a change with no value on one side reads.
EMPTY = "—"
#: The most files of earlier versions a history asks the record service about (whether
#: the reader may still download them); past that they are named without a link.
MAX_OLD_FILES = 20
#: The record service's own audit actions (translated by the catalogue, "update" → 修改).
RECORD_ACTIONS = ("create", "update", "delete", "submit", "cancel", "amend", "adjust", "import")


def action_label(wf: Workflow, action: str, source: str | None, lang: str) -> str:
    """What the screens call the workflow action ``action`` taken from the state
    ``source``: its transition's label (an action leaving several states may have one for
    each), else its name."""
    taken = wf.leaving(source or "", action) or [t for t in wf.transitions
                                                 if t.action == action]
    label = label_text(taken[0].label, lang) if taken and taken[0].label else ""
    return label or action


def _workflow_action(wf: Workflow | None, item: Mapping[str, Any], lang: str) -> str | None:
    """The label of the workflow action an audit item records, or None for the record
    service's own (create, update, a plain submit): a workflow action moves the state,
    unless it is named like none of those."""
    action = item.get("action") or ""
    if wf is None or action not in wf.actions():
        return None
    moved = (item.get("changes") or {}).get(wf.state_field)
    if not isinstance(moved, list) and action in RECORD_ACTIONS:
        return None
    return action_label(wf, action, moved[0] if isinstance(moved, list) else None, lang)


def shown_history(recs: Records, entity: Entity, record: Mapping[str, Any],
                  history: list[dict[str, Any]], *, lang: str) -> list[dict[str, Any]]:
    """``history`` (audit items) with ``shown``: per changed field its ``label`` and, for a
    plain field, ``before`` and ``after`` as text; for a table field ``lines``, its
    ``added``/``removed``/``changed`` counts; and ``action_label``, the label of the
    workflow action an item records (None for the record service's own actions).
    For an attachment, ``before_file`` / ``after_file`` hold the file's id when the reader
    may download it (else None). ``changes`` stays as stored."""
    titles = titles_by_entity(recs, _linked_ids(entity, history))
    held = _file_ids(entity, history)
    files = file_names(held)
    may_download = readable_files(recs, entity, record, held)
    settings = site().settings
    engine = getattr(site(), "workflows", None)
    wf = engine.by_entity.get(entity.name) if engine is not None else None
    out = []
    for item in history:
        shown = []
        for name, change in (item.get("changes") or {}).items():
            f = entity.fields.get(name)
            label = label_text(f.label, lang) if f else name
            if isinstance(change, Mapping):
                shown.append({"label": label, "lines": {
                    k: len(change.get(k) or ()) for k in ("added", "removed", "changed")}})
                continue
            before, after = (list(change) + [None, None])[:2]
            if f is not None and f.type == "attachment":
                shown.append({"label": label, **_file_side("before", before, files,
                                                           may_download),
                              **_file_side("after", after, files, may_download)})
                continue
            how = {"titles": titles, "lang": lang, "tz": settings.timezone,
                   "currency": present.currency_of(f, record, settings.currency) if f else ""}
            shown.append({"label": label, "before": _text(f, before, **how),
                          "after": _text(f, after, **how)})
        out.append({**item, "shown": shown, "action_label": _workflow_action(wf, item, lang)})
    return out


def _file_ids(entity: Entity, history: list[dict[str, Any]]) -> set[int]:
    """The file ids the history's attachment fields name."""
    out: set[int] = set()
    for item in history:
        for name, change in (item.get("changes") or {}).items():
            f = entity.fields.get(name)
            if f is not None and f.type == "attachment" and isinstance(change, list):
                out.update(v for v in change if isinstance(v, int))
    return out


def readable_files(recs: Records, entity: Entity, record: Mapping[str, Any],
                   ids: set[int]) -> set[int]:
    """Which of ``ids`` the reader may download. The files the record holds now in a
    field the reader sees are theirs to read, as on the record's page; a file of an
    earlier version only if the record service says so (another record the reader may
    read holds it, or they uploaded it and nobody holds it): the same
    :meth:`~yiti.records.service.Records.file_info` the download asks."""
    readable = recs.policy.readable(recs.actor, entity)
    current = {record.get(f.name) for f in entity.fields.values()
               if f.type == "attachment" and (readable is None or f.name in readable)}
    out = ids & current
    for ident in sorted(ids - current)[:MAX_OLD_FILES]:
        try:
            recs.file_info(ident)
        except NotFound:
            continue
        out.add(ident)
    return out


def _file_side(side: str, value: Any, files: Mapping[int, str], may: set[int]
               ) -> dict[str, Any]:
    """One side of an attachment's change: the file's name (its id when the file is gone)
    and, under ``<side>_file``, its id when the reader may download it."""
    if not isinstance(value, int):
        return {side: EMPTY, f"{side}_file": None}
    return {side: files.get(value, f"#{value}"), f"{side}_file": value if value in may
            else None}


def _linked_ids(entity: Entity, history: list[dict[str, Any]]) -> dict[str, set[Any]]:
    """Linked entity → the ids the history's changes name, to read their titles at once."""
    wanted: dict[str, set[Any]] = {}
    for item in history:
        for name, change in (item.get("changes") or {}).items():
            f = entity.fields.get(name)
            if f is not None and f.is_link and f.target and isinstance(change, list):
                wanted.setdefault(f.target, set()).update(v for v in change if v is not None)
    return wanted


def _text(f: Field | None, value: Any, titles: Mapping[str, Mapping[Any, str]], *,
          lang: str, tz: str, currency: str) -> str:
    """One side of a change: typed back from its JSON, then shown as the record shows it.
    A value its field no longer takes (an option since removed) is shown as stored."""
    if value is None or value == "":
        return EMPTY
    if f is None:
        return str(value)
    try:
        typed = parse(f, value, timezone=tz)
    except (ValueError, TypeError):
        return str(value)
    shown = present.display(f, typed, lang=lang, tz=tz, currency=currency,
                            titles=titles.get(f.target or ""))
    return shown or EMPTY
