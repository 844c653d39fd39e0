"""Server scripts bound to record events, API endpoints and schedules.

Scripts are definitions (``scripts/*.yaml`` in a pack, see docs/scripting.md); they run in
the sandbox's worker processes (:mod:`yiti.scripting`) and reach records only through
:class:`RecordsHost`, with the permissions of the user they run for.
"""

from yiti.automation import kind as _kind  # noqa: F401 - registers the scripts kind
from yiti.automation.bindings import (
    RUN_SCRIPT_JOB,
    install,
    run_endpoint,
    run_scheduled,
    scripts_of,
)
from yiti.automation.host import RecordsHost

__all__ = ["RUN_SCRIPT_JOB", "RecordsHost", "install", "run_endpoint", "run_scheduled",
           "scripts_of"]
