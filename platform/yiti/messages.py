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

Text built from a Message (an f-string, ``+``) is plain English again: make the whole
sentence one Message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class Message(str):
    """English text that remembers its template and values (see the module)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Message:
        self = super().__new__(cls, template % values if values else template)
        self.template = template
        self.values = values
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # a job's payload keeps it a Message
        return (_rebuilt, (self.template, self.values))


def _rebuilt(template: str, values: dict[str, Any]) -> Message:
    return Message(template, **values)


def say(text: str, catalogues: Iterable[Mapping[str, str]]) -> str:
    """``text`` in the language of ``catalogues`` (msgid → msgstr, first found wins): a
    :class:`Message`'s translation filled with its values; anything else, or a Message
    no catalogue has (or whose translation does not fit its values), as it is."""
    if not isinstance(text, Message):
        return text
    for texts in catalogues:
        found = texts.get(text.template)
        if found:
            try:
                return found % text.values if text.values else found
            except (KeyError, TypeError, ValueError):
                break  # a translation with a wrong placeholder: the English, not an error
    return str.__str__(text)
