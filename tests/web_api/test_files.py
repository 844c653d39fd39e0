"""Files over the API: upload, attach, download; who may attach and read a file.

A file is attached by who uploaded it (or copied from a record the caller may read); it
is read by whoever may read a record holding it, and by its uploader until it is
attached. Anyone else gets the answer a missing file gets.
"""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from yiti.site import Site

PNG = b"\x89PNG\r\n\x1a\n fake image"


def upload(client: FlaskClient, auth: dict[str, str], data: bytes = PNG,
           name: str = "me.png", content_type: str = "image/png"):  # noqa: ANN201
    return client.post("/api/v1/_files", headers=auth, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name, content_type)})


def download(client: FlaskClient, url: str, auth: dict[str, str]):  # noqa: ANN201
    """The response and its body (read and closed: the file is streamed from disk)."""
    response = client.get(url, headers=auth)
    data = response.get_data()
    response.close()
    return response, data


def attach(client: FlaskClient, auth: dict[str, str], contact: int, file_id: int):  # noqa: ANN201
    return client.patch(f"/api/v1/contact/{contact}", json={"photo": file_id},
                        headers={**auth, "If-Match": "*"})


def test_upload_attach_and_download(client: FlaskClient, make_user, library) -> None:
    cal = make_user("cal", "Clerk", group="G1")
    made = upload(client, cal)
    assert made.status_code == 201, made.json
    info = made.json
    assert (info["filename"], info["content_type"], info["size"]) == (
        "me.png", "image/png", len(PNG))
    assert made.headers["Location"].endswith(f"/api/v1/_files/{info['id']}")
    assert info["url"].endswith(f"/api/v1/_files/{info['id']}/content")
    assert client.get(f"/api/v1/_files/{info['id']}", headers=cal).json == info

    attached = attach(client, cal, library["c1"], info["id"])
    assert attached.status_code == 200, attached.json
    assert attached.json["photo"] == info["id"]

    got, data = download(client, info["url"], cal)
    assert got.status_code == 200
    assert data == PNG
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"] == 'inline; filename=me.png'
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert got.headers["Cache-Control"] == "private, no-store"
    # Anyone who may read the contact may read its photo.
    auditor = make_user("aud", "Auditor")
    assert download(client, info["url"], auditor)[1] == PNG


def test_a_file_is_hidden_from_who_may_read_no_record_holding_it(
        client: FlaskClient, make_user, library, site: Site) -> None:
    cal, dee = make_user("cal", "Clerk", group="G1"), make_user("dee", "Clerk", group="G2")
    mine = upload(client, cal).json
    attach(client, cal, library["c1"], mine["id"])
    missing = client.get("/api/v1/_files/999999/content", headers=dee)
    assert (missing.status_code, missing.json["code"]) == (404, "not_found")
    for path in (f"/api/v1/_files/{mine['id']}", f"/api/v1/_files/{mine['id']}/content"):
        hidden = client.get(path, headers=dee)
        assert hidden.status_code == 404
        assert hidden.json["detail"] == f"file {mine['id']} not found"  # as a missing one
        assert "me.png" not in hidden.get_data(as_text=True)

    # An upload is its uploader's until attached; attached to a record they may not read
    # (another group's contact), it is no longer theirs to read.
    later = upload(client, cal, b"second").json
    assert download(client, later["url"], cal)[1] == b"second"
    site.records().update("contact", library["c2"], {"photo": later["id"]},
                          version=site.records().get("contact", library["c2"])["version"])
    assert download(client, later["url"], cal)[0].status_code == 404


def test_attaching_someone_elses_file_is_refused_at_the_field(
        client: FlaskClient, make_user, library) -> None:
    cal, dee = make_user("cal", "Clerk", group="G1"), make_user("dee", "Clerk", group="G2")
    theirs = upload(client, cal).json
    attach(client, cal, library["c1"], theirs["id"])
    unattached = upload(client, cal, b"not attached").json
    refusals = []
    for file_id in (theirs["id"], unattached["id"], 999999):
        refused = attach(client, dee, library["c2"], file_id)
        assert refused.status_code == 422, refused.json
        refusals.append(refused.json["errors"])
    assert refusals == [[{"field": "photo", "code": "link", "message":
                          f"no file with id {i} that you uploaded or may read"}]
                        for i in (theirs["id"], unattached["id"], 999999)]
    created = client.post("/api/v1/contact", headers=dee,
                          json={"full_name": "Dee's", "group": library["g2"],
                                "photo": theirs["id"]})
    assert created.status_code == 422
    assert created.json["errors"][0]["field"] == "photo"
    # One's own upload attaches; so does a file on a record one may read (a copy).
    own = upload(client, dee).json
    assert attach(client, dee, library["c2"], own["id"]).status_code == 200
    auditor_and_clerk = make_user("eve", "Clerk", "Auditor", group="G2")
    copied = attach(client, auditor_and_clerk, library["c2"], theirs["id"])
    assert copied.status_code == 200, copied.json


def test_a_record_sent_back_with_someone_elses_file_goes_through(
        client: FlaskClient, make_user, library) -> None:
    cal, cay = make_user("cal", "Clerk", group="G1"), make_user("cay", "Clerk", group="G1")
    theirs = upload(client, cal).json
    attach(client, cal, library["c1"], theirs["id"])
    record = client.get(f"/api/v1/contact/{library['c1']}", headers=cay).json
    saved = client.put(f"/api/v1/contact/{library['c1']}", headers={**cay, "If-Match": "*"},
                       json={k: record[k] for k in ("full_name", "group", "photo")})
    assert saved.status_code == 200, saved.json


def test_who_may_write_no_record_holding_files_may_not_upload(
        client: FlaskClient, make_user) -> None:
    bea = make_user("bea", "Borrower")  # reads items, writes loans: neither holds files
    refused = upload(client, bea)
    assert (refused.status_code, refused.json["code"]) == (403, "forbidden")
    missing = client.post("/api/v1/_files", headers=make_user("cal", "Clerk", group="G1"),
                          content_type="multipart/form-data", data={"other": "x"})
    assert missing.status_code == 422
    assert missing.json["errors"][0]["field"] == "file"


def test_a_page_or_script_is_downloaded_never_shown(client: FlaskClient, make_user) -> None:
    cal = make_user("cal", "Clerk", group="G1")
    made = upload(client, cal, b"<script>alert(1)</script>", "ré sumé;.html", "text/html")
    got, _ = download(client, made.json["url"], cal)
    assert got.headers["Content-Type"].startswith("text/html")
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=\"re sume;.html\"; filename*=UTF-8''r%C3%A9%20sum%C3%A9%3B.html")
    assert got.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_a_stored_name_is_made_safe_for_the_header() -> None:
    from yiti.web.api.files import safe_filename

    assert safe_filename('a"b\\c/d\r\ne.png') == "a_b_c_de.png"
    assert safe_filename("\x00") == "file"


def test_size_limit(client: FlaskClient, make_user, monkeypatch: pytest.MonkeyPatch) -> None:
    import yiti.records.files
    import yiti.web.api.files

    cal = make_user("cal", "Clerk", group="G1")
    monkeypatch.setattr(yiti.records.files, "MAX_SIZE", 10)
    too_big = upload(client, cal, b"x" * 11)
    assert too_big.status_code == 422
    assert too_big.json["errors"][0]["field"] == "file"
    monkeypatch.setattr(yiti.web.api.files, "MAX_SIZE", 10)
    body = upload(client, cal, b"x" * 200_000)
    assert (body.status_code, body.json["code"]) == (413, "too_large")


def test_a_lines_file_is_read_by_who_may_read_its_document(
        client: FlaskClient, make_user, site: Site) -> None:
    auditor, cal = make_user("aud", "Auditor"), make_user("cal", "Clerk", group="G1")
    records = site.records()
    file_id = records.store_file("front.png", "image/png", PNG)
    category = records.create("product_category", {"code": "TEA", "title": "Tea"})
    records.create("product", {"code": "P-1", "title": "Oolong", "category": category["id"],
                               "list_price": "10.00", "images": [{"image": file_id}]})
    url = f"/api/v1/_files/{file_id}/content"
    assert download(client, url, auditor)[1] == PNG
    assert download(client, url, cal)[0].status_code == 404  # may not read products


def test_the_openapi_document_lists_the_file_routes(doc: dict) -> None:
    assert {"/api/v1/_files", "/api/v1/_files/{file_id}",
            "/api/v1/_files/{file_id}/content"} <= set(doc["paths"])
    assert "multipart/form-data" in doc["paths"]["/api/v1/_files"]["post"]["requestBody"][
        "content"]


def test_a_binary_file_with_nul_bytes_is_kept_byte_for_byte(client: FlaskClient, make_user,
                                                            library) -> None:
    """A real PNG, JPEG or PDF holds NUL bytes: the check refusing NUL in text must not
    read a file's bytes (every binary upload was a 422 'body: must not contain NUL')."""
    cal = make_user("cal", "Clerk", group="G1")
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    made = upload(client, cal, data)
    assert made.status_code == 201, made.json
    assert made.json["size"] == len(data)
    response, body = download(client, made.json["url"], cal)
    assert response.status_code == 200 and body == data
