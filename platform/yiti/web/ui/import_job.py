"""The background import: the ``ui.import`` job and what the import screen reads of it.

The uploaded file and the outcome live under ``<instance>/imports/<token>.*``. The rows
are created in one transaction that also records the job's progress as complete
(``ctx.step``), so a job retried after its worker died never imports twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from yiti.jobs import job
from yiti.permissions.users import actor_for, get_user
from yiti.web.ui.imports import Result, count_rows, rejected_file, run_import

JOB = "ui.import"


@job(JOB, transactional=False, max_attempts=3)
def import_job(ctx: Any) -> dict[str, Any]:
    """Payload: ``{"entity", "user", "path", "token"}``."""
    payload = ctx.payload
    path = Path(payload["path"])
    folder = path.parent
    token = payload["token"]
    outcome = folder / f"{token}.result.json"
    if outcome.exists():  # a retry after the outcome was written
        return json.loads(outcome.read_text())
    site = ctx.site
    actor = actor_for(site, get_user(site, payload["user"]))
    total = count_rows(path)
    ctx.progress(0, total, "reading")
    if ctx.progress_done >= total > 0:  # the rows were committed by an earlier attempt
        result = Result(imported=total)
    else:
        result = run_import(site, actor, payload["entity"], path,
                            progress=lambda n: ctx.progress(n, total, "reading"),
                            saving=lambda: ctx.step(total, total))
    summary = {
        "imported": result.imported,
        "problems": [p.__dict__ for p in result.problems[:500]],
        "problem_count": len(result.problems),
        "rejected": bool(result.rejected),
    }
    if result.rejected:
        (folder / f"{token}-rejected.csv").write_text(rejected_file(result), "utf-8")
    outcome.write_text(json.dumps(summary))
    path.unlink(missing_ok=True)
    return summary
