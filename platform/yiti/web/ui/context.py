"""Who is asking and what they may see: the actor, their record service, link titles.

The screens never decide permissions: every read and write goes through the record
service of the signed-in user's actor, which asks the site's policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import abort, current_app

from yiti.definitions.model import Entity, Field, label_text
from yiti.errors import NotFound
from yiti.permissions.policy import Actor
from yiti.records.service import Records
from yiti.records.titles import TITLE_DEPTH, link_titles, record_title, title_link, titled
from yiti.site import Site

__all__ = [
    "GUEST", "TITLE_DEPTH", "SignInRequired", "attachment_ids", "current_actor",
    "entity_label", "entity_or_404", "file_names", "link_titles", "not_found",
    "record_heading", "record_title", "records", "site", "title_field", "title_link",
    "titled", "titles_by_entity", "titles_for",
]

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


def record_heading(recs: Records, entity: Entity, record: Mapping[str, Any],
                   titles: Mapping[str, Mapping[Any, str]] | None = None) -> str:
    """How a record is named at the top of its page and in messages about it: as every
    screen names it (:func:`yiti.records.titles.titled`), so the number stays and the
    reader sees who it is about."""
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
