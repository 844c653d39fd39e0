"""Notifications: in-app, by e-mail through a local SMTP server, templates in two languages."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from yiti.errors import ValidationError
from yiti.jobs import Recipient, SmtpSettings, mark_read, notify, unread_count
from yiti.jobs import notifications as notes
from yiti.jobs.embedded import start_consumer
from yiti.site import Site

from .conftest import FAST, wait_for


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []

    def handle_message(self, message) -> None:  # noqa: ANN001
        self.messages.append(message)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller can't start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def people(name: str) -> Recipient:
    return {"ann": Recipient("ann", "ann@example.com", "zh-CN"),
            "bob": Recipient("bob", "bob@example.com", "en")}.get(name, Recipient(name))


def test_email_reaches_the_smtp_server_in_the_recipients_language(
        make_site: Callable[..., Site], smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    site = make_site(settings=FAST.with_(smtp=SmtpSettings("127.0.0.1", port,
                                                           sender="yiti@shop.example")))
    site.jobs.recipient_resolver = people
    with start_consumer(site.jobs):
        ann = notify(site, "ann", template="greeting", context={"name": "安", "count": 3},
                     link="/orders")
        notify(site, "bob", template="greeting", context={"name": "Bob", "count": 1})
        wait_for(lambda: len(inbox.messages) == 2, timeout=15)
    by_to = {m["To"]: m for m in inbox.messages}
    assert str(make_header(decode_header(by_to["ann@example.com"]["Subject"]))) == "安，你好"
    assert "您有 3 个新订单。" in by_to["ann@example.com"].get_payload(decode=True).decode()
    assert by_to["bob@example.com"]["Subject"] == "Hello Bob"
    assert by_to["ann@example.com"]["Message-ID"] == f"<yiti-notification-{ann}@shop.example>"
    assert unread_count(site, "ann") == 1
    [item] = notes.for_user(site, "ann")
    assert (item["subject"], item["link"], item["language"]) == ("安，你好", "/orders", "zh-CN")


def test_in_app_only_without_smtp_and_mark_read(make_site: Callable[..., Site]) -> None:
    site = make_site()
    first = notify(site, "carol", subject="Stock low", body="SKU-1 has 2 left")
    notify(site, "carol", subject="Stock low", body="SKU-2 has 1 left")
    assert site.jobs.list() == []  # no e-mail job: SMTP is not set up
    assert unread_count(site, "carol") == 2
    assert mark_read(site, "carol", [first]) == 1
    assert unread_count(site, "carol") == 1
    assert mark_read(site, "carol") == 1
    assert unread_count(site, "carol") == 0
    assert mark_read(site, "someone-else") == 0


def test_notification_in_a_rolled_back_transaction_is_not_kept(
        make_site: Callable[..., Site]) -> None:
    site = make_site()
    with pytest.raises(RuntimeError), site.records().unit_of_work():
        notify(site, "dan", subject="Your order shipped")
        raise RuntimeError("it didn't")
    assert unread_count(site, "dan") == 0


def test_analysts_edit_templates_in_a_sandbox(make_site: Callable[..., Site]) -> None:
    site = make_site()
    notes.save_template(site, "greeting", "en", "Hi {{ name|upper }}", "{{ count }} orders",
                        user="analyst")
    assert notes.render(site, "greeting", "en", {"name": "bob", "count": 2}) == (
        "Hi BOB", "2 orders")
    # the other language still comes from the pack
    assert notes.render(site, "greeting", "zh-CN", {"name": "安", "count": 2})[0] == "安，你好"
    with pytest.raises(ValidationError, match="body"):
        notes.save_template(site, "greeting", "en", "Hi", "{% if %}")
    notes.save_template(site, "greeting", "en", "{{ name.__class__.__mro__ }}", "x")
    with pytest.raises(Exception, match="unsafe|access"):
        notes.render(site, "greeting", "en", {"name": "x", "count": 1})
    notes.save_template(site, "greeting", "en", "{{ items.append(1) }}", "x")
    with pytest.raises(Exception, match="unsafe|modif|immutable|append"):
        notes.render(site, "greeting", "en", {"items": []})


def test_a_user_created_with_a_language_is_notified_in_it(
        make_site: Callable[..., Site], monkeypatch: pytest.MonkeyPatch) -> None:
    # `yiti user create --language`, then a notification from a process that never ran a
    # workflow (a schedule's reminder): the user's language picks the template's text.
    from click.testing import CliRunner

    from yiti.cli import main

    site = make_site()
    monkeypatch.setenv("DATABASE_URL", site.settings.database_url)
    monkeypatch.setenv("YITI_MODULES", str(site.settings.module_paths[0]))
    monkeypatch.setenv("YITI_PACKS", "jobpack")
    monkeypatch.setenv("YITI_INSTANCE", str(site.settings.instance_path))
    create = ["user", "create", "--password", "long enough pass phrase 7"]
    refused = CliRunner().invoke(main, [*create, "--language", "zh", "ann"])
    assert refused.exit_code == 2
    assert "'zh' is not a language of this site; choose from en, zh-CN" in refused.output
    made = CliRunner().invoke(main, [*create, "--language", "zh-cn", "--email",
                                     "ann@example.com", "ann"])
    assert made.exit_code == 0, made.output
    assert site.jobs.recipient_resolver is None
    notify(site, "ann", template="greeting", context={"name": "安", "count": 3})
    [item] = notes.for_user(site, "ann")
    assert (item["subject"], item["language"], item["email"]) == (
        "安，你好", "zh-CN", "ann@example.com")
