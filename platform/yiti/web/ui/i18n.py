"""Languages of the screens: the user's choice, engine strings and formats.

Engine strings are translated with Babel catalogues kept as ``.po`` files under
``yiti/translations/<locale>/LC_MESSAGES/messages.po`` and read at start-up with
:mod:`babel.messages.pofile` — no compile step, so a fresh checkout works as is. Labels
from definitions are translated by the definitions themselves (:func:`label_text`).

The language is chosen, in order, by the session (the switch in the navigation bar), the
``yiti_lang`` cookie, then the browser's ``Accept-Language``; English otherwise.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.pofile import read_po
from flask import g, has_request_context, request, session
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from yiti import messages
from yiti.languages import DEFAULT, LANGUAGES

COOKIE = "yiti_lang"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"


def babel_locale(lang: str) -> str:
    """``zh-CN`` → ``zh_CN``, the form Babel and the catalogue folders use."""
    return lang.replace("-", "_")


@cache
def catalogue(lang: str) -> dict[str, str]:
    """msgid → msgstr for ``lang`` (empty for English and for missing catalogues)."""
    path = TRANSLATIONS / babel_locale(lang) / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        cat = read_po(fh, locale=babel_locale(lang))
    out: dict[str, str] = {}
    for message in cat:
        if message.id and message.string and not message.fuzzy:
            if isinstance(message.id, tuple):  # plural: keep singular and plural forms
                forms = message.string if isinstance(message.string, tuple) else ()
                for i, msgid in enumerate(message.id):
                    if i < len(forms) and forms[i]:
                        out[msgid] = forms[i]
            elif message.context:  # the same English in another sense: "column" "Name"
                out[in_context(message.context, message.id)] = str(message.string)
            else:
                out[message.id] = str(message.string)
    return out


def in_context(context: str, message: str) -> str:
    """The catalogue key of ``message`` translated for ``context`` (its ``msgctxt``), as
    GNU gettext joins them."""
    return f"{context}\x04{message}"


def label_in_every_language(message: str, context: str | None = None) -> dict[str, str]:
    """An engine string as a label ({lang: text}) for every language of the switch, for
    screens built outside a request: the translation for ``context`` if there is one,
    else the plain one, else the English."""
    out = {}
    for lang in LANGUAGES:
        texts = catalogue(lang)
        out[lang] = (texts.get(in_context(context, message)) if context else None) or \
            texts.get(message, message)
    return out


def current_language() -> str:
    """The language of this request (``en`` outside a request)."""
    if not has_request_context():
        return DEFAULT
    cached = g.get("yiti_lang")
    if cached:
        return cached
    lang = language_for(session.get("lang") or request.cookies.get(COOKIE),
                        request.headers.get("Accept-Language"))
    g.yiti_lang = lang
    return lang


@lru_cache(maxsize=512)
def language_for(chosen: str | None, accept_language: str | None) -> str:
    """The language chosen (session or cookie) if known, else the best of
    ``Accept-Language``, else English. Also used before a request has a context (the
    cache of public pages, :mod:`yiti.web.page_cache`), so the two always agree."""
    if chosen in LANGUAGES:
        return chosen
    lang = parse_accept_header(accept_language, LanguageAccept).best_match(
        list(LANGUAGES), default=DEFAULT)
    return lang if lang in LANGUAGES else DEFAULT


def gettext(message: str, **values: Any) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled."""
    text = catalogue(current_language()).get(message, message)
    return text % values if values else text


def say(text: str) -> str:
    """A message for people in the current language: a :class:`~yiti.messages.Message`
    from the packs' ``i18n/<lang>.po`` or the engine's catalogue, filled with its values;
    any other text, and everything in English, as it is."""
    lang = current_language()
    if lang == DEFAULT or not isinstance(text, messages.Message):
        return text
    return messages.say(text, _message_catalogues(lang), lang)


def _message_catalogues(lang: str) -> list[dict[str, str]]:
    from yiti.web.app import current_site
    from yiti.web.pack_pages import pack_catalogue

    packs = [pack_catalogue(m.path, lang) for m in current_site().model.modules.values()]
    return [*packs, catalogue(lang)]


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    source = singular if n == 1 else plural
    text = catalogue(current_language()).get(source, source)
    values.setdefault("num", n)
    return text % values


def locale() -> Locale:
    return Locale.parse(babel_locale(current_language()))
