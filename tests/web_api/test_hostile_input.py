"""What an outside API fuzzer sends: ids no record can have, numbers beyond 64 bits,
JSON nested too deeply, text no database stores, a broken request body. Each is refused
with a problem naming what is at fault (404, 400 or 422), never a 500."""

from __future__ import annotations

import base64
import io

import pytest
from flask.testing import FlaskClient

DEEP = "[" * 5000 + "]" * 5000


def problem(response, status: int) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.json


def fields(body: dict) -> set[str]:
    return {e["field"] for e in body["errors"]}


@pytest.mark.parametrize("ident", [str(2**63), str(2**64), "9" * 30, "9" * 5000, "²", "¹2",
                                   "٣", "%00", "1%00"])
def test_an_id_no_record_can_have_is_404(client: FlaskClient, make_user, library,
                                         ident: str) -> None:
    auth = make_user("lib", "Librarian")
    change = {**auth, "If-Match": "*"}
    for response in (client.get(f"/api/v1/contact/{ident}", headers=auth),
                     client.get(f"/api/v1/contact/{ident}/history", headers=auth),
                     client.patch(f"/api/v1/contact/{ident}", json={}, headers=change),
                     client.put(f"/api/v1/contact/{ident}", json={}, headers=change),
                     client.delete(f"/api/v1/contact/{ident}", headers=change),
                     client.post(f"/api/v1/loan/{ident}/submit", headers=change),
                     client.get(f"/api/v1/expense_claim/{ident}/workflow", headers=auth),
                     client.post(f"/api/v1/expense_claim/{ident}/actions/submit", json={},
                                 headers=auth)):
        assert problem(response, 404)["code"] == "not_found"
    # no one signed in: 401 first, as for any other id
    assert client.get(f"/api/v1/contact/{ident}").status_code == 401


def test_the_largest_id_is_simply_not_found(client: FlaskClient, make_user) -> None:
    auth = make_user("lib", "Librarian")
    problem(client.get(f"/api/v1/contact/{2**63 - 1}", headers=auth), 404)


@pytest.mark.parametrize("name", ["offset", "limit"])
def test_a_list_bound_beyond_64_bits_is_refused_at_its_name(client: FlaskClient, make_user,
                                                            name: str) -> None:
    auth = make_user("lib", "Librarian")
    body = problem(client.get(f"/api/v1/contact?{name}={2**64}", headers=auth), 422)
    assert fields(body) == {name}


def test_json_nested_too_deeply_is_refused(client: FlaskClient, make_user, library) -> None:
    auth = make_user("lib", "Librarian")
    url = f"/api/v1/contact/{library['c1']}"
    for response in (
            client.post("/api/v1/contact", data=DEEP, headers=auth,
                        content_type="application/json"),
            client.patch(url, data='{"a":' * 3000 + "1" + "}" * 3000,
                         headers={**auth, "If-Match": "*"}, content_type="application/json"),
            client.post("/api/v1/expense_claim/1/actions/submit", data=DEEP, headers=auth,
                        content_type="application/json")):
        body = problem(response, 422)
        assert fields(body) == {"body"} and body["errors"][0]["code"] == "too_deep"
    # deep, but parseable: refused at the field that holds it
    nested: list = []
    for _ in range(100):
        nested = [nested]
    body = problem(client.post("/api/v1/contact", json={"notes": nested}, headers=auth), 422)
    assert body["errors"][0]["code"] == "too_deep"
    assert body["errors"][0]["field"].startswith("notes[0][0]")
    body = problem(client.get(f"/api/v1/contact?filters={DEEP}", headers=auth), 422)
    assert fields(body) == {"filters"}


def test_a_lone_surrogate_is_refused_at_its_field(client: FlaskClient, make_user,
                                                  library) -> None:
    auth = make_user("lib", "Librarian")
    raw = '{"full_name": "Ann \\ud800 One"}'
    body = problem(client.patch(f"/api/v1/contact/{library['c1']}", data=raw,
                                headers={**auth, "If-Match": "*"},
                                content_type="application/json"), 422)
    assert fields(body) == {"full_name"} and body["errors"][0]["code"] == "invalid_text"
    body = problem(client.post("/api/v1/contact", data='{"full_name": "x", "\\udfff": 1}',
                               headers=auth, content_type="application/json"), 422)
    assert body["errors"][0]["code"] == "invalid_text"
    # a surrogate pair is one character (an emoji), and welcome
    made = client.post("/api/v1/contact", data='{"full_name": "Ann \\ud83d\\ude00"}',
                       headers=auth, content_type="application/json")
    assert made.status_code == 201, made.json
    assert made.json["full_name"] == "Ann \U0001f600"
    body = problem(client.get('/api/v1/contact?filters=[["full_name","=","\\ud800"]]',
                              headers=auth), 422)
    assert fields(body) == {"filters[0][2]"}
    body = problem(client.get('/api/v1/contact?filters=[["full_name","=","a\\u0000"]]',
                              headers=auth), 422)
    assert fields(body) == {"filters[0][2]"} and body["errors"][0]["code"] == "nul"


def test_a_version_beyond_64_bits_is_refused_at_its_name(client: FlaskClient, make_user,
                                                         library) -> None:
    auth = make_user("lib", "Librarian")
    url = f"/api/v1/contact/{library['c1']}"
    for tag in (f'"v{2**64}"', f'"v{"1" * 5000}"', '"v١"'):
        body = problem(client.patch(url, json={"full_name": "x"},
                                    headers={**auth, "If-Match": tag}), 422)
        assert fields(body) == {"If-Match"}
    for version in (2**64, -1, True, 1.5, "²"):
        body = problem(client.patch(url, json={"full_name": "x", "version": version},
                                    headers=auth), 422)
        assert fields(body) == {"version"}, version
    assert client.patch(url, json={"full_name": "Ann", "version": "1"},
                        headers=auth).status_code == 200


def test_nul_in_every_api_blueprint_is_refused(client: FlaskClient, make_user) -> None:
    """The approvals and workflow endpoints are checked as the records' are (on
    PostgreSQL, a NUL reached the database: a 500)."""
    auth = make_user("lib", "Librarian")
    body = problem(client.get("/api/v1/approvals/delegations?user=a%00", headers=auth), 422)
    assert body["errors"][0]["code"] == "nul"
    problem(client.post("/api/v1/expense_claim/1/actions/submit", json={"comment": "a\x00"},
                        headers=auth), 422)


class Broken(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def readinto(self, buffer) -> int:  # noqa: ANN001
        raise OSError("Invalid chunk header")


def test_a_body_that_cannot_be_read_is_400(client: FlaskClient, make_user) -> None:
    auth = make_user("lib", "Librarian")
    # as the development server passes a chunked body whose chunk header is not hex
    response = client.post("/api/v1/contact", input_stream=Broken(),
                           content_type="application/json", headers=auth,
                           environ_overrides={"wsgi.input_terminated": True})
    assert problem(response, 400)["code"] == "bad_request"


def test_an_idempotency_key_with_control_characters_is_refused(client: FlaskClient,
                                                               make_user) -> None:
    auth = make_user("lib", "Librarian")
    for key in ("a\x00b", "a\x01", "tab\tkey"):
        body = problem(client.post("/api/v1/contact", json={"full_name": "Ann"},
                                   headers={**auth, "Idempotency-Key": key}), 422)
        assert fields(body) == {"Idempotency-Key"}
    made = client.post("/api/v1/contact", json={"full_name": "Ann", "email": "a@x.cn"},
                       headers={**auth, "Idempotency-Key": "order 7 ÿ"})
    assert made.status_code == 201, made.json


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("forged", [
    '[{"d":"1e999999999"},1]', '[{"d":"NaN"},1]', f'[{{"d":"1"}},{2**64}]', '["\\ud800",1]',
    '["a\\u0000",1]', '[{"d":"1"},1e400]', '[{"d":"1"},"1"]', '[[' * 3000, '[true,1]'])
def test_a_forged_cursor_is_refused_at_after(client: FlaskClient, make_user, library,
                                             forged: str) -> None:
    auth = make_user("lib", "Librarian")
    first = client.get("/api/v1/contact?limit=1&sort=-credit_limit", headers=auth)
    assert first.status_code == 200 and first.json["next"], first.json
    body = problem(client.get(f"/api/v1/contact?limit=1&sort=-credit_limit&after="
                              f"{cursor(forged)}", headers=auth), 422)
    assert fields(body) == {"after"}
    # the cursor the list gave still pages on
    assert client.get(f"/api/v1/contact?limit=1&sort=-credit_limit&after="
                      f"{first.json['next']}", headers=auth).status_code == 200


def test_an_infinite_link_in_a_filter_is_refused(client: FlaskClient, make_user) -> None:
    auth = make_user("lib", "Librarian")
    body = problem(client.get('/api/v1/contact?filters=[["group","in",[1e400]]]',
                              headers=auth), 422)
    assert body["errors"][0]["field"].startswith("filters")
    body = problem(client.post("/api/v1/contact", data='{"full_name": "x", "group": 1e400}',
                               headers=auth, content_type="application/json"), 422)
    assert fields(body) == {"group"}


@pytest.mark.parametrize("action", ["submit", "cancel", "amend"])
def test_a_transition_of_an_entity_that_has_none_is_404(client: FlaskClient, make_user,
                                                        library, action: str) -> None:
    """As the OpenAPI document says: no such endpoint (was a 422 naming no field)."""
    auth = make_user("lib", "Librarian")
    response = client.post(f"/api/v1/contact/{library['c1']}/{action}",
                           headers={**auth, "If-Match": "*"})
    assert "not submittable" in problem(response, 404)["detail"]
    # no one signed in: refused before anything is said of the entity
    assert client.post(f"/api/v1/contact/{library['c1']}/{action}").status_code in (401, 403)


def test_a_method_a_path_does_not_take_is_405_with_allow(client: FlaskClient,
                                                         make_user) -> None:
    """Not a 404 for an entity named ``_files`` or ``approvals`` (an API fuzzer's
    "wrong response to undeclared method" and "Allow header mismatch")."""
    auth = make_user("lib", "Librarian")
    for method, path in (("PATCH", "/api/v1/_files/1"), ("DELETE", "/api/v1/_files/1"),
                         ("POST", "/api/v1/approvals"), ("PUT", "/api/v1/approvals/count"),
                         ("POST", "/api/v1/openapi.json")):
        response = client.open(path, method=method, headers=auth)
        assert problem(response, 405)["code"] == "method_not_allowed", (method, path)
        assert set(response.headers["Allow"].split(", ")) <= {"GET", "HEAD", "OPTIONS"}
    allow = client.options("/api/v1/_files/1", headers=auth).headers["Allow"]
    assert set(allow.split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert problem(client.get("/api/v1/_nothing", headers=auth), 404)["code"] == "not_found"


def test_a_body_over_the_limit_is_413(client: FlaskClient, make_user) -> None:
    from yiti.web.api.inputs import MAX_BODY

    auth = make_user("lib", "Librarian")
    big = b'{"full_name": "' + b"a" * MAX_BODY + b'"}'
    response = client.post("/api/v1/contact", data=big, headers=auth,
                           content_type="application/json")
    assert problem(response, 413)["code"] == "too_large"
    response = client.post("/api/v1/expense_claim/1/actions/submit", data=big,
                           headers=auth, content_type="application/json")
    assert problem(response, 413)["code"] == "too_large"
