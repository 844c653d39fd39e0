"""One error shape for the whole API (RFC 9457 problem+json), pinned."""

from __future__ import annotations

from flask.testing import FlaskClient

SHAPE = {"type", "title", "status", "detail", "code", "errors"}


def test_every_error_has_the_same_shape(client: FlaskClient, make_user, library) -> None:
    auth = make_user("lib", "Librarian")
    bea = make_user("bea", "Borrower")
    url = f"/api/v1/contact/{library['c1']}"
    cases = [
        (client.get("/api/v1/item"), 401),
        (client.get("/api/v1/contact", headers=bea), 403),
        (client.get("/api/v1/nothing", headers=auth), 404),
        (client.get("/api/v1/contact/99999", headers=auth), 404),
        (client.get("/api/v1/a/b/c/d", headers=auth), 404),
        # an id no database column holds matches no route (was a 500 from the database)
        (client.delete(f"/api/v1/approvals/delegations/{2**63}", headers=auth), 404),
        (client.delete("/api/v1/contact", headers=auth), 405),
        (client.patch(url, json={"full_name": "x"}, headers={**auth, "If-Match": '"v9"'}), 409),
        (client.post("/api/v1/contact", data="nope", headers={
            **auth, "Content-Type": "text/plain"}), 422),
        (client.post("/api/v1/contact", json={"email": "x", "bogus": 1}, headers=auth), 422),
        (client.patch(url, json={"full_name": "x"}, headers=auth), 428),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json", status
        body = response.json
        assert set(body) == SHAPE, (status, body)
        assert body["status"] == status and body["type"].endswith(body["code"])
        assert all(set(e) == {"field", "message", "code"} for e in body["errors"])
    invalid = cases[9][0].json
    assert "bogus" in {e["field"] for e in invalid["errors"]}
