"""Who is asking and what they may see: the actor, their record service, link titles.

The screens never decide permissions: every read and write goes through the record
service of the signed-in user's actor, which asks the site's policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import abort, current_app

from yiti.definitions.model import Entity, Field, label_text
from yiti.errors import NotFound, YitiError
from yiti.permissions.policy import Actor
from yiti.records.service import Records
from yiti.site import Site

#: Actor for a site without sign-in (a development checkout before auth is set up). It is
#: not the system actor: read-only fields stay read-only and a real policy refuses it.
GUEST = Actor("guest", anonymous=True)


def site() -> Site:
    return current_app.extensions["yiti"]


class SignInRequired(Exception):
    """Raised when nobody is signed in; answered with the login manager's redirect."""


def current_actor() -> Actor:
    """The actor of this request, from the sign-in layer (:mod:`yiti.web.auth`).

    Raises :class:`SignInRequired` when nobody is signed in; the blueprint answers it
    with the login page. An app without the sign-in layer (a bare ``create_app`` in a
    test of this module alone) acts as :data:`GUEST`, which a real policy refuses.
    """
    if getattr(current_app, "login_manager", None) is None:
        return GUEST
    from yiti.web.auth import current_actor as signed_in

    actor = signed_in(required=False)
    if actor is None:
        raise SignInRequired
    return actor


def records() -> Records:
    return site().records(current_actor())


def entity_or_404(name: str) -> Entity:
    """A top-level entity by name; child entities have no screens of their own."""
    entity = site().model.entities.get(name)
    if entity is None or entity.child:
        abort(404)
    return entity


def title_field(entity: Entity) -> str:
    return entity.title_field or ("name" if not entity.child else "id")


#: How many links deep a title that is a link is followed (a record titled by a link to
#: a record titled by a link...), so that records titled through each other end.
TITLE_DEPTH = 3


def link_titles(recs: Records, target: Entity, ids: Iterable[Any], *,
                depth: int = TITLE_DEPTH) -> dict[Any, str]:
    """id → "name · title" of linked records the actor may read, as :func:`titled` names
    them: one query, and one more when the target's title field is itself a link.

    Records the actor cannot see keep their bare ``#id`` (the caller's default).
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
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
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
    :func:`titled` puts it there; an id left in it is not shown."""
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


def titled(recs: Records, entity: Entity, rows: Sequence[Mapping[str, Any]],
           titles: Mapping[str, Mapping[Any, str]] | None = None, *,
           depth: int = TITLE_DEPTH) -> list[str]:
    """How each of ``rows`` (records of ``entity`` read with their ``id``, ``name`` and
    title field) is named wherever a screen names a record: a link's cell in a list, a
    detail page's link field, a link input and its suggestions, the history, a page's
    heading. As :func:`record_title`, except that a title field that is a link (a leave
    request titled by its employee) shows the linked record as :func:`link_titles` names
    it ("LV-00001 · EMP-00002 · Bob Wu"), read in one query for all the rows through the
    reader's record service: a linked record they may not read adds nothing.
    ``titles`` (field → id → title, from :func:`titles_for`) saves that query where the
    page read them already."""
    tf = title_link(entity)
    if tf is None or depth <= 0:
        return [record_title(entity, row) for row in rows]
    known = (titles or {}).get(tf.name)
    if known is None:
        known = link_titles(recs, site().model.entities[tf.target or ""],
                            [row.get(tf.name) for row in rows], depth=depth - 1)
    return [record_title(entity, {**row, tf.name: known.get(row.get(tf.name))})
            for row in rows]


def record_heading(recs: Records, entity: Entity, record: Mapping[str, Any],
                   titles: Mapping[str, Mapping[Any, str]] | None = None) -> str:
    """How a record is named at the top of its page and in messages about it: as every
    screen names it (:func:`titled`), so the number stays and the reader sees who it is
    about."""
    return titled(recs, entity, [record], titles)[0]


def titles_by_entity(recs: Records, wanted: Mapping[str, Iterable[Any]]
                     ) -> dict[str, dict[Any, str]]:
    """entity name → (id → title) for the ids ``wanted`` of each: one query per entity,
    however many fields or rows link to it."""
    model = site().model
    return {name: link_titles(recs, model.entities[name], ids)
            for name, ids in wanted.items() if name in model.entities}


def titles_for(recs: Records, entity: Entity, fields: Iterable[Field],
               rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[Any, str]]:
    """For each link field among ``fields``: id → title of the records ``rows`` link to
    (fields linking to the same entity share its one query)."""
    rows = list(rows)
    links = [f for f in fields if f.is_link and f.target]
    wanted: dict[str, list[Any]] = {}
    for f in links:
        wanted.setdefault(f.target or "", []).extend(r.get(f.name) for r in rows)
    titles = titles_by_entity(recs, wanted)
    return {f.name: titles.get(f.target or "", {}) for f in links}


def file_names(ids: Iterable[Any]) -> dict[Any, str]:
    """id → name of the files that records the caller has read hold (whoever may read a
    record may read its files), in one query; shown as download links."""
    from yiti.records.files import names

    return names(site().engine, site().tables["yiti_file"], ids)


def attachment_ids(entity: Entity, record: Mapping[str, Any]) -> list[Any]:
    """The file ids a record and its lines hold, at any depth."""
    model = site().model
    out: list[Any] = []
    for f in entity.fields.values():
        if f.type == "attachment":
            out.append(record.get(f.name))
        elif f.is_table and f.target:
            for line in record.get(f.name) or []:
                out += attachment_ids(model.entities[f.target], line)
    return out


def entity_label(entity: Entity, lang: str) -> str:
    return label_text(entity.label, lang)


def not_found(error: NotFound) -> None:
    abort(404, description=error.message)
