"""The HTML error pages read in the reader's language: a translated lead, and the
engine's English detail (a permission refusal, a record not found) folded under
"Details" for a reader of another language; in English it stays in view. The API's
problems are unchanged."""

from __future__ import annotations

import re

from flask import Flask

from yiti.permissions import tokens
from yiti.permissions.users import create_user

from .conftest import PASSWORD, csrf

REFUSAL = re.compile(r"you may not \w+ [\w ]+ records")


ZH = {"Accept-Language": "zh-CN"}


def sign_in(app: Flask, name: str) -> object:
    client = app.test_client()
    token = csrf(client)
    done = client.post("/auth/login", data={"name": name, "password": PASSWORD,
                                            "csrf_token": token})
    assert done.status_code == 302, done.get_data(as_text=True)
    return client


def test_a_refusal_in_chinese_folds_the_english_detail(app: Flask, site) -> None:
    ident = create_user(site, "wen", PASSWORD, roles=[])
    page = sign_in(app, "wen").get("/app/contact", headers=ZH)
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "<h1 class=\"h4\">您无权执行此操作。</h1>" in html
    folded = re.search(r"<details[^>]*><summary>详细信息</summary>(.*?)</details>", html, re.S)
    assert folded and REFUSAL.search(folded.group(1)), html
    outside = html.replace(folded.group(0), "")
    assert not REFUSAL.search(outside)  # no English sentence beside the Chinese lead

    missing = sign_in(app, "wen").get("/app/nosuch", headers=ZH)
    assert missing.status_code == 404 and "未找到。" in missing.get_data(as_text=True)

    # the API answers as before, in the engine's words
    auth = {"Authorization": f"Bearer {tokens.create_token(site, ident, ['*'])[0]}",
            "Accept-Language": "zh-CN"}
    problem = app.test_client().get("/api/v1/contact", headers=auth)
    assert problem.status_code == 403 and REFUSAL.search(problem.json["detail"])


def test_in_english_the_detail_stays_in_view(app: Flask, site) -> None:
    create_user(site, "ed", PASSWORD, roles=[])
    html = sign_in(app, "ed").get("/app/contact").get_data(as_text=True)
    assert "<details" not in html
    assert re.search(r'<p class="text-secondary">you may not \w+ [\w ]+ records', html), html
