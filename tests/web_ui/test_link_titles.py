"""A record titled by a link (a leave request titled by its employee) is named the same
on every screen that points at it: a list's link column, a link input's suggestions and
its text box, a detail page's link fields (of the record and of its lines), the history
and a report's link parameter. It was the bare number (LV-00001) everywhere but its own
page's heading. The linked titles are read once per page, and a reader who may not read
the employee (or the leave request) does not see who it is."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from yiti.site import Site

from .conftest import Client, csrf
from .leavepack import PASSWORD, site_fixture, staff_fixture  # noqa: F401 - fixtures

SHOWN = "LV-00001 · EMP-00001 · Ann Lee"


@pytest.fixture
def leave(site: Site, staff: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return site.records().create("leave_request", {"employee": staff["ann"]["id"]})


class SignedIn(Client):
    """A client signed in as ``name`` (the shared one is always the administrator)."""

    def __init__(self, app: Flask, name: str) -> None:
        self.raw = app.test_client()
        token = csrf(self.raw)
        answer = self.raw.post("/auth/login", data={"name": name, "password": PASSWORD,
                                                     "csrf_token": token, "next": "/app/"})
        assert answer.status_code == 302
        self.token = csrf(self.raw, "/app/")


def cells(html: str) -> list[str]:
    body = html[html.index("<tbody"):html.index("</tbody>")]
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]


def test_a_list_column_names_a_link_titled_record_in_one_query_per_page(
        client, site, staff, leave):
    records = site.records()
    other = records.create("leave_request", {"employee": staff["bob"]["id"]})
    for n in range(6):
        records.create("handover", {"note": f"Keys {n}",
                                    "leave": (leave if n % 2 else other)["id"]})
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ARG001
        if "FROM employee" in statement:
            seen.append(statement)

    event.listen(site.engine, "before_cursor_execute", count)
    try:
        html = client.get("/app/handover").get_data(as_text=True)
    finally:
        event.remove(site.engine, "before_cursor_execute", count)
    shown = cells(html)
    assert shown.count(SHOWN) == 3
    assert shown.count("LV-00002 · EMP-00002 · Bob Wu") == 3
    assert len(seen) == 1, seen  # the employees of the whole page at once


def test_suggestions_link_inputs_and_detail_pages_name_it_alike(client, site, leave):
    records = site.records()
    handover = records.create("handover", {"note": "Keys", "leave": leave["id"],
                                           "tasks": [{"leave": leave["id"]}]})
    suggested = client.get("/app/leave_request/lookup?q=LV").get_data(as_text=True)
    assert f'data-title="{SHOWN}"' in suggested

    page = client.get(f"/app/handover/{handover['id']}").get_data(as_text=True)
    value = page[page.index('id="value-leave"'):]
    assert value[:value.index("</dd>")].count(SHOWN) == 1
    lines = page[page.index("yiti-lines-table"):]
    assert SHOWN in lines[:lines.index("</table>")]  # a line's link too

    form = client.get(f"/app/handover/{handover['id']}/edit").get_data(as_text=True)
    assert f'name="leave.search" value="{SHOWN}"' in form


def test_the_history_names_the_link_titled_record(client, site, staff, leave):
    records = site.records()
    handover = records.create("handover", {"note": "Keys"})
    records.update("handover", handover["id"], {"leave": leave["id"]})
    page = client.get(f"/app/handover/{handover['id']}").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert f"<del>—</del> → <ins>{SHOWN}</ins>" in history


@pytest.mark.parametrize(("user", "shown", "on_page"), [
    ("desk", "LV-00001", "LV-00001"),  # reads leave requests, not employees
    # reads handovers only: the list's join gives the number, the page nothing (as before)
    ("otto", "LV-00001", "#1"),
])
def test_who_may_not_read_the_employee_sees_the_number_only(app, site, leave, user, shown,
                                                              on_page):
    hidden = "Ann Lee"
    handover = site.records().create("handover", {"note": "Keys", "leave": leave["id"]})
    reader = SignedIn(app, user)
    listed = reader.get("/app/handover").get_data(as_text=True)
    assert shown in cells(listed) and hidden not in listed
    page = reader.get(f"/app/handover/{handover['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    value = html[html.index('id="value-leave"'):]
    assert on_page in value[:value.index("</dd>")] and hidden not in html


def history_files(html: str) -> list[tuple[str, str]]:
    """The history's changes of the handover's document: (before, after) as HTML."""
    history = html[html.index('id="history"'):]
    return re.findall(r"<li>Document:\s*<del>(.*?)</del> → <ins>(.*?)</ins>", history, re.S)


def test_the_history_names_files_and_links_those_the_reader_may_download(app, client,
                                                                           site):
    """An attachment's change reads as the files' names (it was '#1 → #2'); a name links
    to the download only while the reader may read that file: the current one, and an
    earlier one only for its uploader now that no record holds it."""
    from yiti.permissions.policy import Actor

    ann = site.records(Actor("ann", frozenset({"Employee"})))
    first = ann.store_file("plan <1>.pdf", "application/pdf", b"%PDF one")
    second = ann.store_file("plan 2.pdf", "application/pdf", b"%PDF two")
    handover = ann.create("handover", {"note": "Keys", "document": first})
    ann.update("handover", handover["id"], {"document": second})

    def link(ident: int, name: str) -> str:
        return f'<a class="yiti-file" href="/api/v1/_files/{ident}/content">{name}</a>'

    page = client.get(f"/app/handover/{handover['id']}").get_data(as_text=True)
    assert history_files(page) == [  # newest first, as the administrator sees them
        ("plan &lt;1&gt;.pdf", link(second, "plan 2.pdf")), ("—", "plan &lt;1&gt;.pdf")]
    assert client.get(f"/api/v1/_files/{first}/content").status_code == 404  # as offered

    mine = SignedIn(app, "ann").get(f"/app/handover/{handover['id']}").get_data(as_text=True)
    assert history_files(mine)[0] == (link(first, "plan &lt;1&gt;.pdf"),
                                      link(second, "plan 2.pdf"))
