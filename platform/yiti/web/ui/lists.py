"""List screens: ``/app/<entity>`` with filters, sort, search, pages and bulk actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from yiti.definitions.model import Entity, label_text
from yiti.errors import ValidationError, YitiError
from yiti.records import line_links
from yiti.records.service import Count, Records
from yiti.records.transaction import reading
from yiti.web.ui import listing, saved_views
from yiti.web.ui.blueprint import bp, is_htmx, render
from yiti.web.ui.context import (
    current_actor,
    entity_or_404,
    file_names,
    link_titles,
    records,
    site,
    titled,
)
from yiti.web.ui.i18n import current_language, gettext
from yiti.web.ui.offers import list_actions
from yiti.web.ui.screens import Column, ListSpec, list_spec, readable_spec
from yiti.workflow.guard import workflow_lifecycle

COUNT_CAP = 1000
UNSORTABLE = ("json", "text", "table")


def fetch_fields(entity: Entity, spec: ListSpec, recs: Records) -> tuple[list[str], dict[str, str]]:
    """Paths to ask the service for: the columns, plus the name and title of each link
    column's target (so a link shows "C-00001 · Ann Lee", not an id)."""
    model = site().model
    fields = ["id"] + ([] if entity.child else ["name"])
    if entity.submittable:
        fields.append("docstatus")
    title_paths: dict[str, str] = {}
    for col in spec.columns:
        if col.path not in fields:
            fields.append(col.path)
        if col.field.is_link and col.field.target:
            target = model.entities[col.field.target]
            if target.child:  # a line has no name: link_cells reads its title
                continue
            readable = recs.policy.readable(recs.actor, target)
            for part in ("name", target.title_field):
                if part and (readable is None or part in readable or part == "name"):
                    path = f"{col.path}.{part}"
                    if path not in fields:
                        fields.append(path)
            title_paths[col.path] = col.path
    return fields, title_paths


def link_cells(recs: Records, rows: list[dict[str, Any]], col: Column) -> list[str | None]:
    """Each row's linked record in the link column ``col``, named as every screen names
    it (:func:`yiti.web.ui.context.titled`), from the joined ``<path>.name`` /
    ``<path>.<title>``: one more query for the whole page when the target's title field
    is itself a link."""
    target = site().model.entities[col.field.target or ""]
    if target.child:  # a line: named by its document, read with the documents of the page
        known = link_titles(recs, target, [row.get(col.path) for row in rows])
        return [None if row.get(col.path) is None
                else known.get(row[col.path], f"#{row[col.path]}") for row in rows]
    subs = []
    for row in rows:
        if row.get(col.path) is None:
            continue
        sub = {"id": row[col.path], "name": row.get(f"{col.path}.name")}
        if target.title_field:
            sub[target.title_field] = row.get(f"{col.path}.{target.title_field}")
        subs.append(sub)
    names = iter(titled(recs, target, subs))
    return [None if row.get(col.path) is None else next(names) for row in rows]


def doc_status_column(entity: Entity, spec: ListSpec) -> bool:
    """Whether the list adds its "Document status" column (draft, submitted, cancelled):
    for a submittable entity, unless the view shows the document state already (a
    ``docstatus`` column), or shows the state field of a workflow that submits or cancels
    the record: that state says the same in the pack's own words ("Approved"), and a
    second status beside it ("Submitted", or "Draft" beside "Rejected") only puzzles."""
    if not entity.submittable:
        return False
    shown = {c.path for c in spec.columns}
    if "docstatus" in shown:
        return False
    engine = getattr(site(), "workflows", None)
    wf = engine.by_entity.get(entity.name) if engine is not None else None
    return wf is None or not wf.lifecycle() or wf.state_field not in shown


def page_context(entity: Entity, args: Any) -> dict[str, Any]:
    """Everything the list template needs for the request's ``args``."""
    recs = records()
    spec = readable_spec(list_spec(site().model, entity), site().model, entity, recs)
    sortable = {c.path for c in spec.columns if c.field.type not in UNSORTABLE}
    req = listing.read(args, listing.filterable(spec), sortable, spec.sort,
                       site().settings.timezone)
    fields, _ = fetch_fields(entity, spec, recs)
    error = None
    rows: list[dict[str, Any]] = []
    page_next = None
    count = None
    try:
        page = recs.list(entity.name, filters=req.filters, search=req.search or None,
                         sort=req.sort, after_cursor=req.after, limit=spec.page_size,
                         fields=fields)
        rows, page_next = page.rows, page.next
        if page.next:
            count = recs.count(entity.name, filters=req.filters, search=req.search or None,
                               cap=COUNT_CAP)
            if not count.exact and count.value < req.start + len(rows):
                count = Count(req.start + len(rows), False)  # deep pages pass the cap
        else:  # the last page: the total is known without counting
            count = Count(req.start + len(rows), True)
    except ValidationError as problem:
        error = "; ".join(p.message for p in problem.problems)
    for row in rows:
        row["_titles"] = {}
    for col in spec.columns:
        if col.field.is_link:
            for row, shown in zip(rows, link_cells(recs, rows, col), strict=True):
                row["_titles"][col.path] = shown
    keep = {k: v for k, v in args.items() if k not in ("after", "n") and v}
    next_url = None
    if page_next:
        next_url = url_for("ui.list_view", entity=entity.name,
                           **{**keep, "after": page_next, "n": req.start + len(rows)})
    return {
        "entity": entity, "spec": spec, "rows": rows, "req": req, "args": args,
        "error": error, "count": count, "next_url": next_url, "sortable": sortable,
        "query": urlencode(keep), "filtered": listing.is_filtered(args),
        "first_url": url_for("ui.list_view", entity=entity.name, **keep),
        "filter_kind": listing.filter_kind, "input_type": listing.input_type,
        "sort_url": lambda path: _sort_url(entity, keep, req.sort, path),
        "sort_state": lambda path: _sort_state(req.sort, path),
        "saved": saved_views.for_user(site(), current_actor().name, entity.name),
        "current_view": args.get("view", ""),
        "offered": list_actions(recs, entity, workflow_lifecycle(site(), entity.name)),
        "doc_status": doc_status_column(entity, spec),
        "files": file_names(row.get(c.path) for c in spec.columns
                            if c.field.type == "attachment" for row in rows),
    }


def _sort_state(sort: list[str], path: str) -> str:
    if sort and sort[0] == path:
        return "ascending"
    if sort and sort[0] == f"-{path}":
        return "descending"
    return "none"


def _sort_url(entity: Entity, keep: dict[str, str], sort: list[str], path: str) -> str:
    new = f"-{path}" if sort and sort[0] == path else path
    return url_for("ui.list_view", entity=entity.name, **{**keep, "sort": new})


@bp.get("/<entity>")
def list_view(entity: str) -> Any:
    e = entity_or_404(entity)
    args = request.args.to_dict()
    if args.get("view") and len(args) == 1:
        stored = saved_views.get(site(), current_actor().name, e.name, args["view"])
        if stored is not None:
            query = urlencode({"view": args["view"]})
            return redirect(f"{url_for('ui.list_view', entity=e.name)}?{stored}&{query}")
    context = page_context(e, args)
    if is_htmx() and request.headers.get("HX-Target") == "list-results":
        return render("ui/_list_results.html", partial=True, **context)
    return render("ui/list.html", **context)


@bp.post("/<entity>/bulk")
def bulk(entity: str) -> Response:
    """Delete or submit the ticked records, each on its own; report what failed."""
    e = entity_or_404(entity)
    action = request.form.get("action", "")
    ids = [i for i in request.form.getlist("ids") if i.isdigit()]
    back = request.form.get("next") or url_for("ui.list_view", entity=e.name)
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("ui.list_view", entity=e.name)
    if action not in ("delete", "submit") or (action == "submit" and not e.submittable):
        flash(gettext("Choose an action."), "warning")
        return redirect(back)
    recs = records()
    done, failed = 0, []
    for ident in ids:
        try:
            if action == "delete":
                recs.delete(e.name, int(ident))
            else:
                recs.submit(e.name, int(ident))
            done += 1
        except YitiError as error:
            failed.append(f"#{ident}: {error.message}")
    message = (gettext("%(n)s deleted.", n=done) if action == "delete"
               else gettext("%(n)s submitted.", n=done))
    flash(message, "success" if done else "info")
    for item in failed[:20]:
        flash(item, "danger")
    return redirect(back)


@bp.get("/<entity>/lookup")
def lookup(entity: str) -> Any:
    """Search-as-you-type for link inputs: the first matches of ``q``, through the service
    (so the user sees only the records they may read). For a link to a line (a child
    entity), the lines of the document the form's ``within`` input holds (its name in
    ``within``; the picker's own field in ``field``)."""
    e = site().model.entities.get(entity)
    if e is None:
        abort(404)
    if e.child:
        return _line_lookup(e)
    q = request.args.get("q") or next(
        (v for k, v in request.args.items() if k.endswith(".search")), "")
    q = q.strip()[:200]
    target = request.args.get("target", "")
    fields = ["id", "name"] + ([e.title_field] if e.title_field else [])
    recs = records()
    try:
        page = recs.list(e.name, search=q or None, limit=10, fields=fields)
        rows = page.rows
    except YitiError:
        rows = []
    options = list(zip((row["id"] for row in rows), titled(recs, e, rows), strict=True))
    return render("ui/_lookup.html", options=options, target=target,
                  entity_label=label_text(e.label, current_language()))


def _arg(name: str) -> str:
    """The request's value of input ``name``, top-level or on a line (``lines[2].name``)."""
    if not name:
        return ""
    return request.args.get(name) or next(
        (v for k, v in request.args.items() if k.endswith(f"].{name}")), "")


def _line_lookup(child: Entity) -> Any:
    """The lines of the chosen document whose titles hold what was typed; a hint to
    choose the document first when the ``within`` input is empty."""
    document = site().model.entities.get(child.parent or "")
    if document is None:
        abort(404)
    field = request.args.get("field", "")
    q = (_arg(f"{field}.search") if field else request.args.get("q", "")).strip()[:200]
    chosen = _arg(request.args.get("within", "")).strip()
    hint = ""
    options: list[tuple[Any, str]] = []
    if not chosen.isdigit():
        hint = gettext("Choose the %(document)s first.",
                       document=label_text(document.label, current_language()).lower())
    else:
        recs = records()
        with reading(site().engine) as conn:
            options = line_links.lines_of(recs, conn, child, int(chosen), q)
    return render("ui/_lookup.html", options=options, hint=hint,
                  entity_label=label_text(child.label, current_language()))


@bp.post("/<entity>/views")
def save_view(entity: str) -> Response:
    e = entity_or_404(entity)
    name = request.form.get("name", "").strip()[:100]
    query = request.form.get("query", "")
    if name:
        ident = saved_views.save(site(), current_actor().name, e.name, name, query)
        flash(gettext("View saved."), "success")
        return redirect(url_for("ui.list_view", entity=e.name, view=ident))
    flash(gettext("Give the view a name."), "warning")
    return redirect(url_for("ui.list_view", entity=e.name) + ("?" + query if query else ""))


@bp.post("/<entity>/views/<int:ident>/delete")
def delete_view(entity: str, ident: int) -> Response:
    e = entity_or_404(entity)
    saved_views.delete(site(), current_actor().name, e.name, ident)
    flash(gettext("View deleted."), "success")
    return redirect(url_for("ui.list_view", entity=e.name))
