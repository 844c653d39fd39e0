"""Job handlers by name: ``@job("crm.birthday_reminders")`` declares one.

A handler is called as ``fn(ctx)`` with a :class:`yiti.jobs.runner.JobContext`; what it
returns (JSON-safe) is kept as the job's result. With ``transactional=True`` (the default)
the handler's database writes commit in the same transaction that marks the job done, so
a run that crashes, is killed or loses its lease leaves no effect and the retry starts
clean. Handlers with outside effects (HTTP, e-mail) say ``transactional=False`` and make
the effect idempotent themselves (see docs/jobs.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from yiti.errors import did_you_mean

if TYPE_CHECKING:
    from yiti.jobs.runner import JobContext

Handler = Callable[["JobContext"], Any]
F = TypeVar("F", bound=Handler)


@dataclass(frozen=True)
class JobSpec:
    name: str
    fn: Handler
    transactional: bool = True
    max_attempts: int | None = None  # None: the site's setting
    lease: float | None = None  # seconds; None: the site's setting
    priority: int = 0


#: Every declared job handler by name.
JOBS: dict[str, JobSpec] = {}


def job(name: str, *, transactional: bool = True, max_attempts: int | None = None,
        lease: float | None = None, priority: int = 0) -> Callable[[F], F]:
    """Declare ``fn(ctx)`` as the handler of jobs called ``name``."""

    def register(fn: F) -> F:
        JOBS[name] = JobSpec(name, fn, transactional, max_attempts, lease, priority)
        return fn

    return register


def spec(name: str) -> JobSpec:
    """The handler declared for ``name``; KeyError with a suggestion when there is none."""
    try:
        return JOBS[name]
    except KeyError:
        hint = did_you_mean(name, JOBS)
        raise KeyError(f"no job handler {name!r}" + (f"; {hint}" if hint else "")
                       + " (declare one with @yiti.jobs.job)") from None
