"""An administrator gives a user a language through the API (``POST`` and ``PATCH
/api/v1/_admin/users``) and the admin screens, as ``yiti user create --language`` does:
one the site speaks, spelt as the site spells it; anything else is a 422 at
``language`` naming the languages."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from yiti.errors import NotFound
from yiti.permissions import users


def test_the_admin_api_sets_a_users_language(client: FlaskClient, make_user, site,
                                             sign_in) -> None:
    make_user("root", "Administrator")
    csrf = sign_in(client, "root")
    made = client.post("/api/v1/_admin/users", json={
        "name": "dee", "password": "dee-password-1", "language": "zh-cn"}, headers=csrf)
    assert made.status_code == 201, made.json
    assert made.json["language"] == "zh-CN"
    assert users.get_user(site, "dee")["language"] == "zh-CN"

    refused = client.post("/api/v1/_admin/users", json={
        "name": "eli", "password": "eli-password-1", "language": "zh"}, headers=csrf)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json["errors"]] == ["language"]
    assert "choose from en, zh-CN" in refused.json["errors"][0]["message"]
    with pytest.raises(NotFound):
        users.get_user(site, "eli")  # nothing was created
    for wrong in (["en"], 3):
        bad = client.post("/api/v1/_admin/users", json={
            "name": "fay", "password": "fay-password-1", "language": wrong}, headers=csrf)
        assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "language"

    changed = client.patch("/api/v1/_admin/users/dee", json={"language": "en"}, headers=csrf)
    assert changed.status_code == 200 and changed.json["language"] == "en"
    cleared = client.patch("/api/v1/_admin/users/dee", json={"language": None}, headers=csrf)
    assert cleared.status_code == 200 and cleared.json["language"] is None
    bad = client.patch("/api/v1/_admin/users/dee", json={"language": "fr"}, headers=csrf)
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "language"
    assert users.get_user(site, "dee")["language"] is None
