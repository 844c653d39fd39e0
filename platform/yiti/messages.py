"""Messages for people, said in the reader's language.

The engine and packs write what they refuse in English. A :class:`Message` is that English
text, a ``str`` as before (logs, tests, ``in`` and ``+`` see the English), which also keeps
the template it was filled from and the values that filled it. The web layer looks the
template up in the catalogues of the reader's language (the engine's
``yiti/translations/<locale>/LC_MESSAGES/messages.po`` and each pack's
``i18n/<lang>.po``) and fills the translation with the same values (:func:`say`); with no
translation, the English stands. A plain ``str`` is said as it is.

Templates use ``%(name)s`` placeholders, as the catalogues do::

    Message("is longer than %(n)s characters", n=40)
    api.message("not enough stock of %(sku)s: %(left)s left", sku="SHIRT-1", left=2)

A value may itself be a Message (said in the same language) or a label, a mapping of
languages to texts as definitions give them (``{"en": "Submitted", "zh-CN": "已提交"}``):
its text in the reader's language, English in the English text::

    Message("%(record)s is %(state)s", record=title, state=state.label)

Text built from a Message (an f-string, ``+``) is plain English again: make the whole
sentence one Message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class Message(str):
    """English text that remembers its template and values (see the module)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Message:
        text = template % {k: _in(v, "en") for k, v in values.items()} if values else template
        self = super().__new__(cls, text)
        self.template = template
        self.values = values
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # a job's payload keeps it a Message
        return (_rebuilt, (self.template, self.values))


def _rebuilt(template: str, values: dict[str, Any]) -> Message:
    return Message(template, **values)


def say(text: str, catalogues: Sequence[Mapping[str, str]], lang: str) -> str:
    """``text`` in ``lang``, whose ``catalogues`` (msgid → msgstr, first found wins) are
    given: a :class:`Message`'s translation filled with its values, each said in ``lang``
    too; a Message no catalogue has, its English template so filled; a translation that
    does not fit its values, the English. Anything else as it is."""
    if not isinstance(text, Message):
        return text
    values = {k: _in(v, lang, catalogues) for k, v in text.values.items()}
    found = next((t[text.template] for t in catalogues if t.get(text.template)), None)
    for template in (found, text.template):
        if template:
            try:
                return template % values if values else template
            except (KeyError, TypeError, ValueError):
                continue  # a translation with a wrong placeholder: the English one
    return str.__str__(text)


def _in(value: Any, lang: str, catalogues: Sequence[Mapping[str, str]] = ()) -> Any:
    """A message's value for a reader of ``lang``: a Message said, a label's text."""
    if isinstance(value, Message):
        return say(value, catalogues, lang) if lang != "en" else str.__str__(value)
    if isinstance(value, Mapping):
        return value.get(lang) or value.get("en") or next(iter(value.values()), "")
    return value
