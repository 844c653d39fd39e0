"""What the generated screens show of stored values, as an outside developer's HR leave
pack found them: times in the site's time zone, the change history and the workflow
history in the user's words (option labels, linked titles, action labels), one clear
document-status column, and the system columns' headers translated."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event

from yiti.permissions.policy import SYSTEM
from yiti.records.query import DOCSTATUS_FIELD, SYSTEM_FIELDS
from yiti.site import Site
from yiti.web.ui import i18n, present
from yiti.web.ui.history import shown_history
from yiti.web.ui.imports import match_columns
from yiti.web.ui.screens import SYSTEM_LABELS, system_label
from yiti.workflow import workflows_of

from .leavepack import TIMEZONE, build_site, people, site_fixture, staff_fixture  # noqa: F401


def approved_leave(site: Site, staff: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A leave request for Ann, moved to Bob with Ann standing in, sent and approved
    (the clock moves an hour between the two actions)."""
    records = site.records()
    leave = records.create("leave_request", {
        "employee": staff["ann"]["id"], "reason": "Family",
        "requested_at": "2026-03-01T08:00:00+00:00"})
    records.update("leave_request", leave["id"],
                   {"employee": staff["bob"]["id"], "stand_in": staff["ann"]["id"]})
    engine = workflows_of(site)
    engine.act(SYSTEM, "leave_request", leave["id"], "submit")
    engine.clock.advance(seconds=3600)
    return engine.act(SYSTEM, "leave_request", leave["id"], "approve")


def section(html: str, ident: str) -> str:
    """The ``<section id=...>`` of the page."""
    start = html.index(f'id="{ident}"')
    return html[start:html.index("</section>", start)]


def headers(html: str) -> list[str]:
    """The list's column headers, as text."""
    head = html[html.index("<thead>"):html.index("</thead>")]
    cells = re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)
    return [t for t in (re.sub(r"<[^>]+>|[▲▼]", "", c).strip() for c in cells) if t]


def test_record_page_histories_read_like_the_record(client, site, staff):
    leave = approved_leave(site, staff)
    client.post("/app/language", {"lang": "zh-CN", "next": "/app/"})
    html = client.get(f"/app/leave_request/{leave['id']}").get_data(as_text=True)

    changes = section(html, "history")
    assert "<del>草稿</del> → <ins>已提交</ins>" in changes  # option labels, not values
    assert "<del>EMP-00001 · Ann Lee</del> → <ins>EMP-00002 · Bob Wu</ins>" in changes
    assert "<del>—</del> → <ins>EMP-00001 · Ann Lee</ins>" in changes  # the stand-in
    assert "submitted" not in changes and "UTC" not in changes
    assert "</strong> · 批准 · v4" in changes  # the workflow action's label, as below
    for item in site.records().history("leave_request", leave["id"]):
        shown = present.moment(item["at"], lang="zh-CN", tz=TIMEZONE, zone=True)
        assert shown in changes and shown.endswith("GMT+08:00")

    steps = section(html, "workflow")
    # action labels, times in the site's zone (the clock started 01:30 UTC)
    assert "2026年3月1日 09:30:00 GMT+08:00" in steps
    assert "2026年3月1日 10:30:00 GMT+08:00" in steps
    assert re.search(r"提交:\s*草稿 → 待人事审批", steps)
    assert re.search(r"批准:\s*待人事审批 → 已批准", steps)
    assert "submit:" not in steps and "UTC" not in steps


def test_the_change_history_reads_linked_titles_once_per_entity(app, site, staff):
    records = site.records()
    leave = records.create("leave_request", {"employee": staff["ann"]["id"]})
    for n in range(4):  # employee and stand-in swap back and forth
        a, b = (staff["ann"], staff["bob"]) if n % 2 else (staff["bob"], staff["ann"])
        records.update("leave_request", leave["id"], {"employee": a["id"], "stand_in": b["id"]})
    history = records.history("leave_request", leave["id"])
    entity = site.model.entities["leave_request"]
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    with app.test_request_context():
        event.listen(site.engine, "before_cursor_execute", count)
        try:
            shown = shown_history(records, entity, leave, history, lang="en")
        finally:
            event.remove(site.engine, "before_cursor_execute", count)
    assert len(seen) == 1, seen  # the employees, whatever the rows and link fields
    lines = [line for item in shown for line in item["shown"]]
    assert {"label": "Stand-in", "before": "EMP-00001 · Ann Lee",
            "after": "EMP-00002 · Bob Wu"} in lines


def test_lists_show_times_in_the_site_time_zone(client, site, staff):
    approved_leave(site, staff)
    html = client.get("/app/leave_request").get_data(as_text=True)
    assert "Mar 1, 2026, 4:00:00\u202fPM" in html  # 08:00 UTC is 16:00 in Shanghai
    assert "8:00:00" not in html


def test_another_site_time_zone_is_shown_and_filtered_in(db_url, tmp_path, signed_in):
    """Berlin, not the default Shanghai: the list shows 08:00 UTC as 09:00, and a
    datetime filter's bounds are read in the same zone."""
    from yiti.web.app import create_app

    site = build_site(db_url, tmp_path, timezone="Europe/Berlin")
    try:
        approved_leave(site, people(site))
        client = signed_in(create_app(site=site))

        def listed(low: str, high: str) -> str:
            return client.get("/app/leave_request", query_string={
                "f.requested_at.from": low, "f.requested_at.to": high}).get_data(as_text=True)

        html = listed("2026-03-01T08:30", "2026-03-01T09:30")
        assert "LV-00001" in html and "Mar 1, 2026, 9:00:00\u202fAM" in html
        assert "LV-00001" not in listed("2026-03-01T15:30", "2026-03-01T16:30")
    finally:
        site.close()


def test_one_document_status_column_with_a_name_of_its_own(client, site, staff):
    approved_leave(site, staff)
    site.records().create("expense", {"title": "Taxi"})
    # the workflow's status says where a leave request is: no second status beside it
    leaves = client.get("/app/leave_request").get_data(as_text=True)
    assert headers(leaves) == ["Name", "Employee", "Start date", "Requested at", "Status"]
    # an expense's own Status is not its document's state: both, named apart
    assert headers(client.get("/app/expense").get_data(as_text=True)) == [
        "Name", "Title", "Status", "Document status"]
    client.post("/app/language", {"lang": "zh-CN", "next": "/app/"})
    expenses = client.get("/app/expense").get_data(as_text=True)
    assert headers(expenses) == ["编号", "名称", "状态", "单据状态"]
    assert ">草稿</span>" in expenses


def test_system_column_headers_are_translated(client, site, staff):
    client.post("/app/language", {"lang": "zh-CN", "next": "/app/"})
    html = client.get("/app/employee").get_data(as_text=True)
    assert headers(html) == ["编号", "姓名", "部门", "创建时间"]
    csv = client.get("/app/employee/export.csv").get_data(as_text=True)
    assert csv.splitlines()[0].lstrip("\ufeff") == "编号,姓名,部门,创建时间"
    # ... and that header imports again: system columns are skipped in any language
    fields, problems = match_columns(site.model.entities["expense"], ["编号", "名称", "状态"])
    assert not problems
    assert [f.name if f else None for f in fields] == [None, "title", "status"]


def test_every_system_column_has_a_translated_label():
    """SYSTEM_LABELS is kept by hand (msgctxt "column", not extracted): each system
    column has one, and each has its zh-CN text in the catalogue."""
    assert set(SYSTEM_LABELS) >= {*SYSTEM_FIELDS, DOCSTATUS_FIELD.name}
    i18n.catalogue.cache_clear()
    have = i18n.catalogue("zh-CN")
    for name, text in SYSTEM_LABELS.items():
        assert i18n.in_context("column", text) in have or text in have, name
    assert system_label("name") == {"en": "Name", "zh-CN": "编号"}


def heading(html: str) -> str:
    """The page's ``<h1>``, tags and spacing taken out (entities stay escaped)."""
    h1 = html[html.index("<h1"):html.index("</h1>")]
    return " ".join(re.sub(r"<[^>]+>", " ", h1[h1.index(">") + 1:]).split())


def test_a_record_titled_by_a_link_is_headed_by_the_linked_record(client, site, staff):
    """A leave request's title field is its employee (a link): its page is headed by its
    number and the employee as a link column shows one, escaped, not by the number
    alone; so are its workflow page and the message after saving it."""
    records = site.records()
    eve = records.create("employee", {"full_name": "<b>Eve</b> & co"})
    leave = records.create("leave_request", {"employee": eve["id"]})
    shown = "LV-00001 · EMP-00003 · &lt;b&gt;Eve&lt;/b&gt; &amp; co"

    html = client.get(f"/app/leave_request/{leave['id']}").get_data(as_text=True)
    assert heading(html).startswith(shown)
    assert f"<title>{shown}" in html
    assert "<b>Eve</b>" not in html
    lines = client.get("/app/leave_request").get_data(as_text=True)
    assert "EMP-00003 · &lt;b&gt;Eve&lt;/b&gt; &amp; co" in lines  # the list says the same

    page = client.get(f"/workflow/leave_request/{leave['id']}").get_data(as_text=True)
    assert heading(page) == f"Leave request {shown}"

    saved = client.post(f"/app/leave_request/{leave['id']}/edit", {
        "employee": str(staff["bob"]["id"]), "version": str(leave["version"])},
        follow_redirects=True).get_data(as_text=True)
    assert "LV-00001 · EMP-00002 · Bob Wu saved." in saved


def test_a_linked_title_the_reader_may_not_see_leaves_the_number(site, staff):
    """Without leave to read the employee, the heading is the number alone (never the
    employee's id, nor a refusal)."""
    from yiti.permissions.policy import Actor
    from yiti.web.app import create_app
    from yiti.web.ui.context import record_heading

    leave = site.records().create("leave_request", {"employee": staff["ann"]["id"]})
    entity = site.model.entities["leave_request"]
    with create_app(site=site).test_request_context():
        assert record_heading(site.records(), entity, leave) == "LV-00001 · EMP-00001 · Ann Lee"
        stranger = site.records(Actor("nobody", frozenset({"Nobody"})))
        assert record_heading(stranger, entity, leave) == "LV-00001"
