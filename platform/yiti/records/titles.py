"""How a record is named to people: "name · title", a title that is a link named through it.

One way for every place that names records (the screens' headings, lists, lookups and
link inputs; the workflow inbox), so a leave request titled by its employee reads
"LV-00001 · EMP-00002 · Bob Wu" wherever it is shown. Linked titles are read through the
reader's record service (a record they may not read adds nothing), one query per linked
entity. No web code: the workflow package uses it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from yiti.definitions.model import Entity, Field
from yiti.errors import YitiError

if TYPE_CHECKING:
    from yiti.records.service import Records

#: How many links deep a title that is a link is followed (a record titled by a link to
#: a record titled by a link...), so that records titled through each other end.
TITLE_DEPTH = 3

#: The most ids one read of linked titles asks for.
CHUNK = 500


def link_titles(recs: Records, target: Entity, ids: Iterable[Any], *,
                depth: int = TITLE_DEPTH) -> dict[Any, str]:
    """id → "name · title" of linked records the actor may read, as :func:`titled` names
    them: one query, and one more when the target's title field is itself a link.

    Records the actor cannot see are left out (the caller shows its own default).
    """
    wanted = sorted({int(i) for i in ids if i is not None and str(i).isdigit()})
    if not wanted:
        return {}
    if target.child:  # a line, named by its document: only if the actor may read that
        from yiti.records import line_links
        from yiti.records.transaction import reading

        with reading(recs.site.engine) as conn:
            return line_links.titles(recs, conn, target, wanted)
    fields = ["id"] + (["name"] if not target.child else [])
    if target.title_field and target.title_field not in fields:
        fields.append(target.title_field)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        try:
            page = recs.list(target.name, filters=[("id", "in", chunk)], fields=fields,
                             limit=len(chunk), sort=["id"])
        except YitiError:
            break
        rows += page.rows
    return dict(zip((r["id"] for r in rows), titled(recs, target, rows, depth=depth),
                    strict=True))


def record_title(entity: Entity, row: Mapping[str, Any]) -> str:
    """How a record is named to people: its title field, with its name when they differ.
    A title field that is a link must already hold the linked record's title (text), as
    :func:`resolved` puts it there; an id left in it is not shown."""
    name = row.get("name")
    title = row.get(entity.title_field) if entity.title_field else None
    if title is not None and not isinstance(title, str):
        title = None  # a link as title field: the name says more than an id
    if name and title and str(title) != str(name):
        return f"{name} · {title}"
    return str(title or name or f"#{row.get('id')}")


def title_link(entity: Entity) -> Field | None:
    """The entity's title field when it is a link (a leave request titled by its
    employee), else None."""
    f = entity.fields.get(entity.title_field or "")
    return f if f is not None and f.is_link and f.target else None


def resolved(recs: Records, entity: Entity, rows: Sequence[Mapping[str, Any]],
             titles: Mapping[str, Mapping[Any, str]] | None = None, *,
             depth: int = TITLE_DEPTH) -> list[dict[str, Any]]:
    """``rows`` with a title field that is a link holding the linked record's title as
    :func:`link_titles` names it (None where the reader may not read it), read in one
    query for all the rows; other rows are copied as they are. ``titles`` (field → id →
    title) saves that query where the caller read them already."""
    tf = title_link(entity)
    if tf is None or depth <= 0:
        return [dict(row) for row in rows]
    known = (titles or {}).get(tf.name)
    if known is None:
        known = link_titles(recs, recs.model.entities[tf.target or ""],
                            [row.get(tf.name) for row in rows], depth=depth - 1)
    return [{**row, tf.name: known.get(row.get(tf.name))} for row in rows]


def titled(recs: Records, entity: Entity, rows: Sequence[Mapping[str, Any]],
           titles: Mapping[str, Mapping[Any, str]] | None = None, *,
           depth: int = TITLE_DEPTH) -> list[str]:
    """How each of ``rows`` (records of ``entity`` read with their ``id``, ``name`` and
    title field) is named wherever a record is named: a link's cell in a list, a detail
    page's link field, a link input and its suggestions, the history, a page's heading,
    the inbox. As :func:`record_title`, except that a title field that is a link (a
    leave request titled by its employee) shows the linked record as :func:`link_titles`
    names it ("LV-00001 · EMP-00002 · Bob Wu"), through :func:`resolved`."""
    if title_link(entity) is None or depth <= 0:
        return [record_title(entity, row) for row in rows]
    return [record_title(entity, row)
            for row in resolved(recs, entity, rows, titles, depth=depth)]
