"""Attachments on screens: the record page and lists show a file as a download link
with its name (it was '#2'), and the link downloads it for who may read the record."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from yiti.permissions.rules import ADMINISTRATOR
from yiti.permissions.users import create_user
from yiti.site import Site
from yiti.testing import load, settings_for

from .conftest import PASSWORD


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The example packs, with the contact list showing photos (a site overlay)."""
    overlay = tmp_path / "overlay"
    (overlay / "views").mkdir(parents=True)
    (overlay / "views" / "contact.yaml").write_text(
        "view: contact\nentity: contact\ncolumns: [name, full_name, photo]\n")
    site = Site(settings_for(db_url, tmp_path, overlay=overlay),
                model=load(packs=["example", "example_ext"], overlay=overlay))
    site.migrate()
    create_user(site, "clerk", PASSWORD, roles=[ADMINISTRATOR])
    yield site
    site.close()


def file_links(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="yiti-file" href="([^"]+)">([^<]*)</a>', html)


def test_an_uploaded_photo_is_a_named_download_link(client, records) -> None:
    made = client.post("/app/contact/new", {
        "full_name": "Pic", "photo.file": (io.BytesIO(b"\x89PNG fake"), "me <1>.png",
                                           "image/png")},
        content_type="multipart/form-data")
    assert made.status_code == 302
    contact = records.list("contact").rows[0]
    url = f"/api/v1/_files/{contact['photo']}/content"
    page = client.get(f"/app/contact/{contact['id']}").get_data(as_text=True)
    # the field, then its history's change: escaped, never markup
    assert file_links(page) == [(url, "me &lt;1&gt;.png")] * 2
    listed = client.get("/app/contact").get_data(as_text=True)
    assert file_links(listed) == [(url, "me &lt;1&gt;.png")]
    got = client.get(url)
    assert (got.status_code, got.get_data()) == (200, b"\x89PNG fake")
    got.close()
