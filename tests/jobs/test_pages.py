"""The jobs page, schedules, webhooks and notifications over HTTP (HTML and JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from yiti.jobs import FakeClock, enqueue, notify
from yiti.jobs import notifications as notes
from yiti.permissions.policy import Actor
from yiti.site import Site
from yiti.web.admin_jobs import init_app

ADMIN = Actor("root", frozenset({"Administrator"}))


def app_for(site: Site, actor: Actor | None) -> Flask:
    app = Flask("yiti-test")
    app.config.update(SECRET_KEY="test", TESTING=True, YITI_JOBS_ACTOR=actor)
    app.extensions["yiti"] = site
    init_app(app)
    return app


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site(clock=FakeClock())


@pytest.fixture
def client(site: Site) -> FlaskClient:
    return app_for(site, ADMIN).test_client()


def test_jobs_page_lists_states_and_retry_and_cancel_work(site: Site, client: FlaskClient
                                                          ) -> None:
    done = enqueue(site, "jobpack.bump", {"counter": "p"})
    site.jobs.run(done)
    failed = enqueue(site, "jobpack.fail")
    for _ in range(3):
        site.jobs.clock.advance(5)  # type: ignore[attr-defined]
        site.jobs.run(failed)
    queued = enqueue(site, "jobpack.bump", {"counter": "q"})

    page = client.get("/jobs/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for ident, state in ((done, "done"), (failed, "failed"), (queued, "queued")):
        assert f'data-job="{ident}" data-state="{state}"' in html
    assert "RuntimeError: boom on attempt 3" in html
    data = client.get("/jobs/jobs.json").get_json()
    assert data["counts"] == {"queued": 1, "running": 0, "failed": 1, "done": 1,
                              "cancelled": 0}
    assert client.get("/jobs/?state=failed", headers={"HX-Request": "true"}
                      ).get_data(as_text=True).startswith('<div id="jobs-table"')

    assert client.post(f"/jobs/{failed}/retry").status_code == 302
    assert site.jobs.get(failed)["state"] == "queued"
    answer = client.post(f"/jobs/{queued}/cancel", headers={"Accept": "application/json"})
    assert answer.get_json()["ok"] is True
    assert site.jobs.get(queued)["state"] == "cancelled"
    refused = client.post(f"/jobs/{done}/cancel", headers={"Accept": "application/json"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "conflict"
    detail = client.get(f"/jobs/{done}.json").get_json()
    assert detail["result"] == {"value": 1} and detail["state"] == "done"
    assert client.get(f"/jobs/{failed}").status_code == 200
    assert client.get("/jobs/999.json").status_code == 404


def test_progress_shows_rows_done_of_total(site: Site, client: FlaskClient) -> None:
    job_id = enqueue(site, "jobpack.chunks", {"total": 4})
    site.jobs.run(job_id)
    html = client.get("/jobs/").get_data(as_text=True)
    assert "4 / 4" in html


def test_schedules_page_enables_disables_and_runs(site: Site, client: FlaskClient) -> None:
    html = client.get("/jobs/schedules").get_data(as_text=True)
    assert 'data-schedule="morning"' in html and "cron 0 8 * * *" in html
    client.post("/jobs/schedules/hourly/enable")
    client.post("/jobs/schedules/morning/disable")
    listed = {s["name"]: s for s in client.get("/jobs/schedules.json").get_json()["schedules"]}
    assert listed["hourly"]["enabled"] is True and listed["morning"]["enabled"] is False
    ran = client.post("/jobs/schedules/morning/run", headers={"Accept": "application/json"})
    job_id = int(ran.get_json()["result"])
    assert site.jobs.get(job_id)["created_by"] == "root"
    assert client.post("/jobs/schedules/nope/run").status_code == 302  # flashed: no schedule


def test_pages_are_for_administrators_only(site: Site) -> None:
    clerk = app_for(site, Actor("clerk", frozenset({"Sales"}))).test_client()
    assert clerk.get("/jobs/").status_code == 403
    assert clerk.post("/jobs/1/retry").status_code == 403
    assert clerk.get("/notifications/templates").status_code == 403
    assert clerk.get("/notifications/").status_code == 200
    nobody = app_for(site, None).test_client()
    assert nobody.get("/jobs/").status_code == 401
    assert nobody.get("/notifications/").status_code == 401


def test_notifications_bell_list_and_mark_read(site: Site) -> None:
    clerk = app_for(site, Actor("clerk")).test_client()
    first = notify(site, "clerk", subject="Low stock", body="SKU-1: 2 left", link="/sku/1")
    notify(site, "clerk", subject="Approval waiting")
    notify(site, "other", subject="Not yours")
    bell = clerk.get("/notifications/bell").get_data(as_text=True)
    assert 'data-unread="2"' in bell
    html = clerk.get("/notifications/").get_data(as_text=True)
    assert "Low stock" in html and "Not yours" not in html
    clerk.post("/notifications/read", data={"id": first})
    assert clerk.get("/notifications/count.json").get_json() == {"unread": 1}
    answer = clerk.post("/notifications/read", json={})
    assert answer.get_json() == {"marked": 1, "unread": 0}


def test_templates_are_edited_per_language(site: Site, client: FlaskClient) -> None:
    page = client.get("/notifications/templates/greeting/zh-CN").get_data(as_text=True)
    assert "{{ name }}，你好" in page
    bad = client.post("/notifications/templates/greeting/en",
                      data={"subject": "Hi", "body": "{% for %}"})
    assert bad.status_code == 422
    client.post("/notifications/templates/greeting/en",
                data={"subject": "Hi {{ name }}", "body": "{{ count }} new"})
    notify(site, "root", template="greeting", context={"name": "Root", "count": 2})
    assert client.get("/notifications/list.json").get_json()["notifications"][0][
        "subject"] == "Hi Root"


def test_webhooks_page(site: Site, client: FlaskClient) -> None:
    assert "No pack declares a webhook" in client.get("/jobs/webhooks").get_data(as_text=True)
    assert client.get("/jobs/webhooks.json").get_json() == {"webhooks": [], "deliveries": []}


#: FakeClock's start, 2026-01-01 00:00 UTC, is 08:00 in Shanghai (the site's zone).
EIGHT_AM = "Jan 1, 2026, 8:00:00\u202fAM GMT+08:00"


def test_job_and_schedule_times_read_in_the_site_time_zone(site: Site, client: FlaskClient
                                                           ) -> None:
    """The pages show when a job was created, started and finished, and when schedules
    are due, in the site's zone with its offset; the JSON keeps ISO 8601 in UTC."""
    job_id = enqueue(site, "jobpack.bump", {"counter": "t"})
    site.jobs.run(job_id)
    table = client.get("/jobs/").get_data(as_text=True)
    assert EIGHT_AM in table and "00:00:00" not in table
    shown = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert shown.count(EIGHT_AM) == 4  # created, runs after, started, finished
    assert client.get(f"/jobs/{job_id}.json").get_json()["created_at"] == \
        "2026-01-01T00:00:00+00:00"
    schedules = client.get("/jobs/schedules").get_data(as_text=True)
    assert "Jan 2, 2026, 8:00:00\u202fAM GMT+08:00" in schedules  # morning: 0 8 * * *
    due = {s["name"]: s["next_due"] for s in
           client.get("/jobs/schedules.json").get_json()["schedules"]}
    assert due["morning"] == "2026-01-02T00:00:00+00:00"


def test_a_time_in_a_notification_reads_in_the_site_time_zone(
        make_site: Callable[..., Site], modules: Path) -> None:
    """A datetime given to a template is written in the recipient's language and the
    site's zone, with the offset (e-mails carry the same text), and what the template
    reads of it is local too (17:30 UTC is already the next day in Shanghai); the inbox
    shows when each arrived the same way."""
    (modules / "jobpack" / "notifications" / "due.yaml").write_text(
        'notification: due\nsubject: {en: "Due {{ at }}", zh-CN: "{{ at }} 到期"}\n'
        'body: {en: "Pay by {{ at }} (day {{ at.date() }})."}\n')
    site = make_site(clock=FakeClock())
    site.jobs.recipient_resolver = lambda name: notes.Recipient(
        name, None, "zh-CN" if name == "ann" else "en")
    at = dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC)
    notify(site, "ann", template="due", context={"at": at})
    notify(site, "bob", template="due", context={"at": at})
    ann, = notes.for_user(site, "ann")
    bob, = notes.for_user(site, "bob")
    assert ann["subject"] == "2026年3月2日 01:30:00 GMT+08:00 到期"
    assert bob["subject"] == "Due Mar 2, 2026, 1:30:00\u202fAM GMT+08:00"
    assert bob["body"] == "Pay by Mar 2, 2026, 1:30:00\u202fAM GMT+08:00 (day 2026-03-02)."

    inbox = app_for(site, Actor("bob")).test_client().get("/notifications/")
    assert EIGHT_AM in inbox.get_data(as_text=True)
    listed = app_for(site, Actor("bob")).test_client().get("/notifications/list.json")
    assert listed.get_json()["notifications"][0]["created_at"] == "2026-01-01T00:00:00+00:00"
