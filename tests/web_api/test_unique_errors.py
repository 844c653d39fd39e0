"""A value already used by another record, over the REST API: a unique field or
combination is 422 ``unique`` naming the field, on create and on update, and so is a
record name the client chose (sent as ``name``, or through the field the entity is named
by); the series skips a number an imported record already has; a stale version is 409
``conflict`` (docs/api.md, Errors)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from yiti.site import Site
from yiti.testing import write_pack

from .conftest import migrated

TAG = ("entity: tag\nfields:\n"
       "  email: {type: email, unique: true}\n"
       "  source: {type: string}\n"
       "  external_id: {type: string}\n"
       "unique_together: [[source, external_id]]\n")
#: Named by its code, which is not itself unique: only the name's index refuses.
SHELF = "entity: shelf\nnaming: {field: code}\nfields:\n  code: {type: string}\n"
BOX = "entity: box\nnaming: {series: 'B-{###}'}\nfields:\n  note: {type: string}\n"


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "uniq", {"entities/tag.yaml": TAG,
                                            "entities/shelf.yaml": SHELF,
                                            "entities/box.yaml": BOX})
    yield from migrated(db_url, tmp_path, [tmp_path / "packs"], ["uniq"])


def _problem(response) -> tuple[int, str, list[dict[str, str]]]:  # noqa: ANN001
    return response.status_code, response.json["code"], response.json["errors"]


def test_a_taken_unique_value_is_422_naming_the_field(client: FlaskClient, make_user) -> None:
    auth = make_user("root", "Administrator")
    taken = {"email": "ann@example.com", "source": "crm", "external_id": "42"}
    assert client.post("/api/v1/tag", json=taken, headers=auth).status_code == 201
    other = client.post("/api/v1/tag", json={"email": "bob@example.com"}, headers=auth).json
    email = [{"field": "email", "message": "is already used by another record",
              "code": "unique"}]
    pair = [{"field": "source", "message": "the combination of source, external_id is "
             "already used", "code": "unique"}]
    for body, errors in (({"email": "ann@example.com"}, email),
                         ({"source": "crm", "external_id": "42"}, pair)):
        created = client.post("/api/v1/tag", json=body, headers=auth)
        assert _problem(created) == (422, "validation", errors)
        changed = client.patch(f"/api/v1/tag/{other['id']}", json=body,
                               headers={**auth, "If-Match": "*"})
        assert _problem(changed) == (422, "validation", errors)


def test_a_record_name_the_client_chose_is_422_naming_its_field(
        client: FlaskClient, make_user) -> None:
    auth = make_user("root", "Administrator")
    taken = [{"field": "name", "message": "is already used by another record",
              "code": "unique"}]
    assert client.post("/api/v1/tag", json={"name": "T-1"}, headers=auth).status_code == 201
    again = client.post("/api/v1/tag", json={"name": "T-1"}, headers=auth)
    assert _problem(again) == (422, "validation", taken)
    assert again.json["detail"] == "name: is already used by another record"

    # named by its code: the code the client sent is the field at fault
    assert client.post("/api/v1/shelf", json={"code": "A1"}, headers=auth).status_code == 201
    shelf = client.post("/api/v1/shelf", json={"code": "A1"}, headers=auth)
    assert _problem(shelf) == (422, "validation", [{**taken[0], "field": "code"}])
    assert client.post("/api/v1/shelf", json={"code": "A2"}, headers=auth).status_code == 201


def test_the_series_skips_an_imported_number_and_a_stale_version_is_409(
        client: FlaskClient, make_user, site: Site) -> None:
    auth = make_user("root", "Administrator")
    # an import keeps its document's number (and, as any create, uses up one of the series)
    imported = site.records().create("box", {"name": "B-002", "note": "kept its number"})
    drawn = client.post("/api/v1/box", json={"note": "a"}, headers=auth)
    assert (drawn.status_code, drawn.json["name"]) == (201, "B-003")

    stale = client.patch(f"/api/v1/box/{imported['id']}", json={"note": "c"},
                         headers={**auth, "If-Match": '"v9"'})
    assert (stale.status_code, stale.json["code"]) == (409, "conflict")


def test_the_openapi_document_offers_name_where_the_creator_names_the_record(
        client: FlaskClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "name" in schemas["tag_input"]["properties"]  # no series, no naming field
    assert "name" not in schemas["box_input"]["properties"]  # the series names it
    assert "name" not in schemas["shelf_input"]["properties"]  # its code names it
