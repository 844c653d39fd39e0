"""The languages a site speaks: its screens, e-mails and notifications.

No web code, so the user service (:mod:`yiti.permissions.users`), the command line and
the screens check a user's language the same way.
"""

from __future__ import annotations

from yiti.errors import FieldProblem, ValidationError, did_you_mean

__all__ = ["DEFAULT", "LANGUAGES", "site_language"]

#: Languages offered by the switch: code → its own name.
LANGUAGES: dict[str, str] = {"en": "English", "zh-CN": "中文"}
DEFAULT = "en"


def site_language(value: object, field: str = "language") -> str | None:
    """``value`` as one of :data:`LANGUAGES`, spelt as the site spells it (``zh-cn`` is
    ``zh-CN``); None for none (empty). A :class:`ValidationError` at ``field`` naming
    the languages (with the closest as a hint) for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        for code in LANGUAGES:
            if code.lower() == value.strip().lower():
                return code
    hint = did_you_mean(str(value), LANGUAGES)
    raise ValidationError([FieldProblem(
        field, f"{str(value)[:40]!r} is not a language of this site; choose from "
        f"{', '.join(LANGUAGES)}" + (f" ({hint})" if hint else ""), "invalid")])
