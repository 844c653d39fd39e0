"""The ``ui`` blueprint (``/app``), its template helpers and its error pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from werkzeug.wrappers import Response

from yiti.definitions.model import Field, label_text
from yiti.errors import Conflict, Forbidden, NotFound
from yiti.web.ui import offers, present
from yiti.web.ui.context import SignInRequired, current_actor, site
from yiti.web.ui.i18n import DEFAULT, LANGUAGES, current_language, gettext, say

bp = Blueprint("ui", __name__, url_prefix="/app")


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def navigation() -> list[tuple[Any, list[Any]]]:
    """(module, its top-level entities the signed-in user may read) for the navigation bar
    and the start page; modules with none left out, nothing for a visitor not signed in."""
    if "yiti_navigation" in g:
        return g.yiti_navigation
    try:
        actor = current_actor()
    except SignInRequired:
        return []
    current = site()
    recs = current.records(actor)
    out = []
    for module in current.model.modules.values():
        entities = [e for e in current.model.entities.values() if e.module == module.name
                    and not e.child and offers.may(recs, e, "read")]
        if entities:
            out.append((module, entities))
    g.yiti_navigation = out
    return out


def when(value: Any, zone: bool = False) -> str:
    """A point in time outside a field (a history's ``at``, the inbox's ``waiting_since``,
    a job's ``created_at``) as every page shows one: in the site's time zone and the
    user's language; ``zone`` adds the offset. Templates call it as ``when``; pages of
    other blueprints that may run without this one (the jobs pages) register it too."""
    return present.moment(value, lang=current_language(), tz=site().settings.timezone,
                          zone=zone)


@bp.app_context_processor
def helpers() -> dict[str, Any]:
    lang = current_language()
    settings = site().settings

    def L(label: Any) -> str:  # noqa: N802 - short, used everywhere in templates
        return label_text(label, lang)

    def fmt(field: Field, value: Any, record: Any = None, titles: Any = None) -> str:
        return present.display(field, value, lang=lang, tz=settings.timezone,
                               currency=present.currency_of(field, record, settings.currency),
                               titles=titles)

    return {"lang": lang, "languages": LANGUAGES, "L": L, "fmt": fmt, "when": when,
            "safe_href": present.safe_href, "nav_modules": navigation,
            "timezone": settings.timezone, "default_currency": settings.currency,
            "input_step": present.step}


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def error_page(status: int, message: str, detail: str | None = None, *,
               english: bool = False) -> tuple[str, int]:
    """The HTML error page: ``message`` (translated) as its lead, ``detail`` under it.
    An ``english`` detail (the engine's own words: a permission refusal, a record not
    found) is folded under a "Details" disclosure for a reader of another language, so
    the page reads in theirs and the words stay at hand for support; a message the
    catalogues translate (:func:`~yiti.web.ui.i18n.say`) is shown translated, unfolded."""
    said = say(detail) if detail else detail
    # a message translated for the reader is theirs, not the engine's English
    folded = bool(said) and english and said == detail and current_language() != DEFAULT
    detail = said
    return render("ui/error.html", status, message=message, detail=detail,
                  detail_folded=folded)


@bp.errorhandler(SignInRequired)
def sign_in(error: SignInRequired) -> Response | tuple[str, int]:
    manager = getattr(current_app, "login_manager", None)
    if manager is not None:
        return manager.unauthorized()
    return render("ui/error.html", 401, message=gettext("Please sign in."))


@bp.errorhandler(NotFound)
def not_found(error: NotFound) -> tuple[str, int]:
    return error_page(404, gettext("Not found."), error.message, english=True)


@bp.errorhandler(Forbidden)
def forbidden(error: Forbidden) -> tuple[str, int]:
    return error_page(403, gettext("You may not do this."), error.message, english=True)


@bp.errorhandler(Conflict)
def conflict(error: Conflict) -> tuple[str, int]:
    """A page the record's state does not allow now (the edit form of a locked record)."""
    return render("ui/error.html", 409, message=gettext("Not possible now."),
                  detail=say(error.message))


@bp.errorhandler(404)
def missing(error: Exception) -> tuple[str, int]:
    return render("ui/error.html", 404, message=gettext("Not found."))
