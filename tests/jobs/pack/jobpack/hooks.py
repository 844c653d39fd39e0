"""Job handlers used by the job layer's tests (loaded by worker subprocesses too)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from yiti.jobs import job


def _bump(ctx, code: str) -> int:  # noqa: ANN001
    records = ctx.records
    page = records.list("counter", filters=[("code", "=", code)], limit=1)
    if not page.rows:
        return records.create("counter", {"code": code, "value": 1})["value"]
    row = records.get("counter", page.rows[0]["id"])
    return records.update("counter", row["id"], {"value": row["value"] + 1})["value"]


@job("jobpack.bump")
def bump(ctx):  # noqa: ANN001, ANN201
    """Add one to a counter; on a first attempt asked to, stall after the write (to be killed)."""
    value = _bump(ctx, ctx.payload.get("counter", "main"))
    marker = ctx.payload.get("stall_marker")
    if marker and ctx.attempt == 1:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(120)
    return {"value": value}


@job("jobpack.fail", max_attempts=3)
def fail(ctx):  # noqa: ANN001, ANN201
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


@job("jobpack.chunks", transactional=False)
def chunks(ctx):  # noqa: ANN001, ANN201
    """A long job in chunks: each chunk's effect commits with its progress."""
    total = int(ctx.payload["total"])
    for done in range(ctx.progress_done + 1, total + 1):
        with ctx.step(done, total):
            _bump(ctx, "chunks")
    return {"done": total}
