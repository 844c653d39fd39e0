"""Large imports run on the job queue; the import screen shows their progress and report."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from yiti.jobs import jobs_of
from yiti.web.ui import imports

from .test_transfer import csv_file, read_csv, upload


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(imports, "BACKGROUND_ROWS", 3)


def start(client, rows):  # noqa: ANN001, ANN201
    r = upload(client, "item", csv_file(rows), "big.csv")
    assert r.status_code == 302, r.get_data(as_text=True)
    status_url = r.headers["Location"]
    job_id = int(parse_qs(urlparse(status_url).query)["job"][0])
    return status_url, job_id


def test_a_large_import_runs_in_the_background_with_progress(client, site, records):
    rows = [["code", "title", "stock"]] + [[f"B-{i}", f"Book {i}", "1"] for i in range(10)]
    status_url, job_id = start(client, rows)
    waiting = client.get(status_url).get_data(as_text=True)
    assert 'id="import-progress"' in waiting and "hx-trigger=\"every 2s\"" in waiting
    assert records.count("item").value == 0  # nothing in the request itself
    assert jobs_of(site).run(job_id) == "done"
    job = jobs_of(site).get(job_id)
    assert (job["progress_done"], job["progress_total"]) == (10, 10)
    done = client.get(status_url).get_data(as_text=True)
    assert "10 records imported." in done and "every 2s" not in done
    assert records.count("item").value == 10


def test_a_failed_background_import_saves_nothing_and_offers_the_rejected_rows(
        client, site, records):
    rows = [["code", "title"]] + [[f"B-{i}", f"Book {i}"] for i in range(6)] + [["bad code", ""]]
    status_url, job_id = start(client, rows)
    jobs_of(site).run(job_id)
    page = client.get(status_url).get_data(as_text=True)
    assert "Nothing was imported: 2 problems." in page
    assert records.count("item").value == 0
    link = page.split('href="/app/item/import/', 1)[1].split('"', 1)[0]
    rejected = read_csv(client.get(f"/app/item/import/{link}").data)
    assert rejected[0] == ["row", "code", "title", "errors"] and rejected[1][0] == "8"


def test_only_the_uploader_sees_an_import(client, app, site, signed_in):
    rows = [["code", "title"]] + [[f"B-{i}", f"Book {i}"] for i in range(5)]
    status_url, _ = start(client, rows)
    from yiti.permissions.rules import ADMINISTRATOR
    from yiti.permissions.users import create_user

    from .conftest import PASSWORD

    create_user(site, "other", PASSWORD, roles=[ADMINISTRATOR])
    other = app.test_client()
    assert other.get(status_url).status_code in (302, 404)
