"""Errors an analyst sees when a formula or a script fails, and compile-time problems.

Every error names the definition file (from its pack's folder on when the pack is outside
the working directory: :func:`yiti.definitions.source.in_pack`), the line in that file,
the expression or script and a stable ``code`` (``syntax``, ``forbidden``, ``runtime``, ``size_limit``,
``cpu_limit``, ``memory_limit``, ``timeout``, ``loop_limit``, ``call_limit``,
``recursion_limit``, ``output_limit``, ``depth_limit``, ``worker``); never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yiti.definitions.source import in_pack
from yiti.errors import DefinitionError, YitiError

# Characters of a message an analyst's code gives or causes: throw()'s message, an error's
# description. Longer ones are cut: they are shown next to a field and kept in logs.
MAX_MESSAGE = 2_000
MAX_FIELD = 200  # characters of the field throw() blames


def cut(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text``, cut to ``limit`` characters saying so."""
    if len(text) <= limit:
        return text
    note = f"… (cut: {len(text):,} characters in all)"
    return text[: max(limit - len(note), 0)] + note


@dataclass(frozen=True)
class ScriptProblem:
    """One problem found before running: ``path:line: name: message``."""

    filename: str
    lineno: int
    message: str
    code: str = "syntax"
    name: str = ""

    def __str__(self) -> str:
        where = f"{self.filename}:{self.lineno}: "
        return where + (f"{self.name}: " if self.name else "") + self.message

    def to_definition_error(self) -> DefinitionError:
        """The same problem in the vocabulary ``yiti check`` reports definitions with."""
        return DefinitionError(self.filename, self.lineno, self.name or "script", self.message)


class ScriptError(YitiError):
    """A script or expression failed (or was refused); the caller rolls back."""

    code = "script"
    status = 422

    def __init__(
        self,
        message: str,
        *,
        code: str = "runtime",
        filename: str = "<script>",
        lineno: int = 1,
        name: str = "",
    ) -> None:
        self.reason = message
        # the one place a failing script's file is named to API clients and end users
        filename = in_pack(filename)
        self.filename, self.lineno, self.name = filename, lineno, name
        where = f"{filename}:{lineno}: " + (f"{name}: " if name else "")
        super().__init__(where + message, filename=filename, lineno=lineno, script=name)
        self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class ExpressionError(ScriptError):
    """A formula, rule or condition failed while being compiled or evaluated."""


class SandboxViolation(Exception):
    """Raised inside the sandbox when analysts' code asks for something refused.

    An ordinary exception on purpose: analysts may catch it, but nothing they can do
    after catching it gets them further. ``code`` is reported when uncaught.
    """

    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(message)
        self.code = code


class LimitExceeded(BaseException):
    """A run went past a limit (loops, CPU, output). A BaseException so that
    ``except Exception`` in a script cannot swallow it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
