"""What "My approvals" shows: a record titled by a link (a leave request by its employee)
under the linked record's title as every screen names it ("LV-00001 · EMP-00001 · Ann
Lee", :func:`yiti.records.titles.titled`), read in one query per linked entity; times in the site's
time zone, with its offset; and the approval page's links as titles, not ids."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from yiti.permissions import users
from yiti.permissions.policy import SYSTEM
from yiti.records.titles import titled
from yiti.site import Site
from yiti.workflow import Workflows, inbox, workflows_of

from ..web_ui.leavepack import PASSWORD, build_site, people


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    site = build_site(db_url, tmp_path)  # its clock starts at 01:30 UTC, 09:30 in Shanghai
    yield site
    site.close()


@pytest.fixture
def engine(site: Site) -> Workflows:
    return workflows_of(site)


def waiting(site: Site, engine: Workflows, employee: dict[str, Any]) -> dict[str, Any]:
    leave = site.records().create("leave_request", {"employee": employee["id"]})
    return engine.act(SYSTEM, "leave_request", leave["id"], "submit")


def selects(site: Site, fn: Any) -> tuple[int, Any]:
    seen = [0]

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # the permission overrides are read again on their own clock (every 2 s),
        # whatever the inbox holds: not the inbox's reads
        seen[0] += (statement.lstrip().upper().startswith("SELECT")
                    and "yiti_permission" not in statement)

    event.listen(site.engine, "before_cursor_execute", count)
    try:
        result = fn()
    finally:
        event.remove(site.engine, "before_cursor_execute", count)
    return seen[0], result


def signed_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post("/auth/login", data={"name": name, "password": PASSWORD,
                                            "csrf_token": token, "next": "/workflow/inbox"})
    assert done.status_code == 302, done.get_data(as_text=True)
    return client


def test_a_link_title_field_shows_the_linked_title_read_once_per_entity(site, engine):
    staff = people(site)
    hana = users.actor_for(site, users.get_user(site, "hana"))
    waiting(site, engine, staff["ann"])
    waiting(site, engine, staff["bob"])
    few, items = selects(site, lambda: inbox.items(engine, hana))
    assert [(i["name"], i["title"]) for i in items] == [("LV-00001", "EMP-00001 · Ann Lee"),
                                                        ("LV-00002", "EMP-00002 · Bob Wu")]
    leave = site.records(hana).get("leave_request", items[0]["id"])
    entity = site.model.entities["leave_request"]
    heading = titled(site.records(hana), entity, [leave])[0]
    assert heading == f'{items[0]["name"]} · {items[0]["title"]}'  # as the record page
    for _ in range(4):
        waiting(site, engine, staff["ann"])
    many, items = selects(site, lambda: inbox.items(engine, hana))
    assert len(items) == 6 and many == few  # the employees in one read, however many


def test_the_inbox_page_shows_titles_and_local_times(app, site, engine):
    staff = people(site)
    leave = waiting(site, engine, staff["ann"])
    client = signed_in(app, "hana")
    zh = {"Accept-Language": "zh-CN"}
    html = client.get("/workflow/inbox", headers=zh).get_data(as_text=True)
    assert "LV-00001</a> · EMP-00001 · Ann Lee" in html and "LV-00001 · LV-00001" not in html
    assert "2026年3月1日 09:30:00 GMT+08:00" in html  # the task opened at 01:30 UTC
    page = client.get(f"/workflow/leave_request/{leave['id']}", headers=zh)
    html = page.get_data(as_text=True)
    assert 'id="value-employee">EMP-00001 · Ann Lee<' in html  # not "#2"
    assert re.search(r"提交:\s*草稿 → 待人事审批", html)
    assert "2026年3月1日 09:30:00 GMT+08:00" in html
