"""One error vocabulary for the whole engine.

Every error a user can see carries a stable ``code`` (for translation and for clients),
a message naming the record, the field and the rule, and never a traceback. The web layer
maps each class to an HTTP status once (``status``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class YitiError(Exception):
    """Base of all errors the engine raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


@dataclass(frozen=True)
class FieldProblem:
    """One reason a value was refused: which field (``lines[2].qty`` for a child line)."""

    field: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


class ValidationError(YitiError):
    """Input was refused. ``problems`` lists every field at fault, not only the first."""

    code = "validation"
    status = 422

    def __init__(
        self,
        problems: list[FieldProblem] | str,
        field: str | None = None,
        *,
        entity: str | None = None,
    ) -> None:
        if isinstance(problems, str):
            problems = [FieldProblem(field or "", problems)]
        self.problems = list(problems)
        self.entity = entity
        super().__init__(joined((p.field, p.message) for p in problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "errors": [p.to_dict() for p in self.problems],
        }


def joined(problems: Iterable[tuple[str, str]]) -> str:
    """``(field, message)`` pairs as one line for people: ``email: is required; ...``."""
    return "; ".join(f"{field}: {message}" if field else message for field, message in problems)


class NotFound(YitiError):
    code = "not_found"
    status = 404


class Forbidden(YitiError):
    code = "forbidden"
    status = 403


class Conflict(YitiError):
    """A stale version, a record name the service drew already taken, a delete of a
    record still linked to, or a state that no longer allows the action. (A duplicate
    unique value, or a record name the caller chose that another record has, is a
    :class:`ValidationError` naming its field.)"""

    code = "conflict"
    status = 409


class DefinitionError(YitiError):
    """A problem in a definition file, located as ``path:line: key: message``."""

    code = "definition"
    status = 500

    def __init__(
        self, path: str, line: int, key: str, message: str, hint: str | None = None
    ) -> None:
        self.path, self.line, self.key, self.hint = path, line, key, hint
        text = f"{path}:{line}: {key}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class DefinitionWarning(DefinitionError):
    """Not wrong, but worth a look (a label missing in one of the site's languages):
    ``yiti check`` prints it as ``path:line: key: warning: message`` and still passes."""

    code = "definition_warning"

    def __init__(
        self, path: str, line: int, key: str, message: str, hint: str | None = None
    ) -> None:
        super().__init__(path, line, key, f"warning: {message}", hint)


class DefinitionErrors(YitiError):
    """All problems found in a set of definitions, reported together."""

    code = "definitions"
    status = 500

    def __init__(self, errors: list[DefinitionError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class MigrationRefused(YitiError):
    """A migration plan holds destructive or failing steps that were not allowed."""

    code = "migration_refused"
    status = 409


def did_you_mean(name: str, choices: Any) -> str | None:
    """``"did you mean 'customer'?"`` for the closest of ``choices``, or None."""
    from difflib import get_close_matches

    match = get_close_matches(name, [str(c) for c in choices], n=1)
    return f"did you mean {match[0]!r}?" if match else None
