"""A value already used by another record, over the REST API: a unique field or
combination is 422 ``unique`` naming the field, on create and on update; a record name
already taken is 409 (docs/api.md, Errors)."""

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


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[Site]:
    write_pack(tmp_path / "packs", "uniq", {"entities/tag.yaml": TAG})
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


def test_a_taken_record_name_is_409(client: FlaskClient, make_user) -> None:
    auth = make_user("root", "Administrator")
    assert client.post("/api/v1/tag", json={"name": "T-1"}, headers=auth).status_code == 201
    again = client.post("/api/v1/tag", json={"name": "T-1"}, headers=auth)
    assert (again.status_code, again.json["code"]) == (409, "conflict")
    assert "name already exists" in again.json["detail"]
