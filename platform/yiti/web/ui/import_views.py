"""Import screens: upload a file, see what was imported or why nothing was.

Uploaded files and rejected-row files are kept under ``<instance>/imports/`` by a random
token, next to a note of who uploaded them; only that user may download the rejects.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from flask import Response, abort, redirect, request, url_for

from yiti.web.ui import imports, offers
from yiti.web.ui.blueprint import bp, render
from yiti.web.ui.context import current_actor, entity_or_404, records, site
from yiti.web.ui.i18n import gettext
from yiti.web.ui.import_job import JOB
from yiti.web.ui.imports import count_rows, rejected_file, run_import

TOKEN_BYTES = 16


def folder() -> Path:
    path = site().settings.instance_path / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@bp.get("/<entity>/import")
def import_form(entity: str) -> tuple[str, int]:
    e = entity_or_404(entity)
    offers.require_offer(records(), e, "import")
    return render("ui/import.html", entity=e, result=None, token=None, error=None)


@bp.post("/<entity>/import")
def import_upload(entity: str) -> tuple[str, int]:
    e = entity_or_404(entity)
    offers.require_offer(records(), e, "import")  # before the file is kept
    upload = request.files.get("file")
    suffix = Path(upload.filename or "").suffix.lower() if upload else ""
    if upload is None or suffix not in (".csv", ".xlsx"):
        return render("ui/import.html", 422, entity=e, result=None, token=None,
                      error=gettext("Choose a .csv or .xlsx file."))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    path = folder() / f"{token}{suffix}"
    upload.save(path)
    actor = current_actor()
    (folder() / f"{token}.json").write_text(json.dumps({"user": actor.name, "entity": e.name}))
    if count_rows(path) > imports.BACKGROUND_ROWS:
        from yiti.jobs import enqueue

        job_id = enqueue(site(), JOB, {"entity": e.name, "user": actor.name,
                                       "path": str(path), "token": token}, key=f"import:{token}")
        return redirect(url_for("ui.import_status", entity=e.name, token=token, job=job_id))
    try:
        result = run_import(site(), actor, e.name, path)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
    if result.rejected:
        (folder() / f"{token}-rejected.csv").write_text(rejected_file(result), "utf-8")
    return render("ui/import.html", 200 if result.ok else 422, entity=e, result=result,
                  token=token if result.rejected else None, error=None)


@bp.get("/<entity>/import/<token>/rejected.csv")
def import_rejected(entity: str, token: str) -> Any:
    e = entity_or_404(entity)
    if not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    note = folder() / f"{token}.json"
    data = folder() / f"{token}-rejected.csv"
    if not note.exists() or not data.exists():
        abort(404)
    owner = json.loads(note.read_text())
    if owner.get("user") != current_actor().name or owner.get("entity") != e.name:
        abort(404)
    return Response(data.read_bytes(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{e.name}-rejected.csv"'})


def _owned(entity: str, token: str) -> None:
    """404 unless ``token`` is an upload of the current user for ``entity``."""
    if not token.replace("-", "").replace("_", "").isalnum():
        abort(404)
    note = folder() / f"{token}.json"
    if not note.exists():
        abort(404)
    owner = json.loads(note.read_text())
    if owner.get("user") != current_actor().name or owner.get("entity") != entity:
        abort(404)


@bp.get("/<entity>/import/<token>")
def import_status(entity: str, token: str) -> tuple[str, int]:
    """A background import: progress while it runs (the page polls), then the report."""
    e = entity_or_404(entity)
    _owned(e.name, token)
    from yiti.jobs import jobs_of

    job_id = request.args.get("job", type=int)
    state = None
    if job_id is not None:
        try:
            state = jobs_of(site()).get(job_id)
        except Exception:  # noqa: BLE001 - an unknown job id shows as "not found"
            abort(404)
        if (state.get("payload") or {}).get("token") != token:
            abort(404)
    outcome = folder() / f"{token}.result.json"
    summary = json.loads(outcome.read_text()) if outcome.exists() else None
    partial = request.headers.get("HX-Request") == "true"
    return render("ui/import_status.html", entity=e, token=token, job=state, job_id=job_id,
                  summary=summary, partial=partial)
