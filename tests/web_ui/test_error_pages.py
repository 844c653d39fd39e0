"""The HTML error pages read in the reader's language: a translated lead, and the
detail (a permission refusal, a record not found) in the reader's language where the
engine has it (yiti.messages); an English detail the catalogues lack is folded under
"Details" for a reader of another language. In English the detail stays in view. The
API's problems say the same words, with their codes unchanged."""

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


def test_a_refusal_in_chinese_is_said_in_chinese(app: Flask, site) -> None:
    ident = create_user(site, "wen", PASSWORD, roles=[])
    page = sign_in(app, "wen").get("/app/contact", headers=ZH)
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "<h1 class=\"h4\">您无权执行此操作。</h1>" in html
    assert "您无权查看联系人记录" in html and "<details" not in html
    assert not REFUSAL.search(html)  # no English sentence beside the Chinese lead

    missing = sign_in(app, "wen").get("/app/nosuch", headers=ZH)
    assert missing.status_code == 404 and "未找到。" in missing.get_data(as_text=True)

    # the API says it in the same words, its code unchanged
    auth = {"Authorization": f"Bearer {tokens.create_token(site, ident, ['*'])[0]}",
            "Accept-Language": "zh-CN"}
    problem = app.test_client().get("/api/v1/contact", headers=auth)
    assert problem.status_code == 403 and problem.json["code"] == "forbidden"
    assert problem.json["detail"] == "您无权查看联系人记录"


def test_an_english_detail_without_a_translation_is_folded(app: Flask) -> None:
    from yiti.web.ui.blueprint import error_page

    with app.test_request_context("/app/", headers=ZH):
        html, status = error_page(403, "您无权执行此操作。", "this token has no write scope",
                                  english=True)
    folded = re.search(r"<details[^>]*><summary>详细信息</summary>(.*?)</details>", html, re.S)
    assert status == 403 and folded and "this token has no write scope" in folded.group(1)


def test_in_english_the_detail_stays_in_view(app: Flask, site) -> None:
    create_user(site, "ed", PASSWORD, roles=[])
    html = sign_in(app, "ed").get("/app/contact").get_data(as_text=True)
    assert "<details" not in html
    assert re.search(r'<p class="text-secondary">you may not \w+ [\w ]+ records', html), html
