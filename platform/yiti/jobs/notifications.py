"""Notifications: in-app (``yiti_notification``) and by e-mail over SMTP when configured.

Templates are Jinja2 run in its immutable sandbox, so analysts may edit them: declared in
packs (``notifications/*.yaml``: ``subject`` and ``body``, each a string or a map of
language to text) and overridden per language in ``yiti_notification_template``. The
recipient's language picks the text (``zh-CN``, else ``zh``, else ``en``, else any).
A date and time given in the context reads as on the screens (:func:`yiti.times.moment`):
in the site's time zone and the recipient's language, with its offset, since a
notification is read apart from the site (an e-mail, set against others).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import func, insert, select, update

from yiti.errors import NotFound, ValidationError, did_you_mean
from yiti.jobs.registry import job
from yiti.records.transaction import reading, transaction
from yiti.times import local_time, moment

if TYPE_CHECKING:
    from yiti.jobs.runner import JobContext
    from yiti.site import Site

EMAIL = "yiti.email"
_env = ImmutableSandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)


def sandbox(site: Site | None = None, language: str = "en") -> ImmutableSandboxedEnvironment:
    """The immutable Jinja2 sandbox notification templates render in. For a ``site``, a
    datetime printed by ``{{ ... }}`` shows in its time zone, in ``language``, with the
    offset ("2026年3月1日 09:30:00 GMT+08:00"), never as the UTC it is stored in."""
    if site is None:
        return _env
    tz = site.settings.timezone

    def finalize(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return moment(value, lang=language, tz=tz, zone=True)
        return value

    return _env.overlay(finalize=finalize)  # type: ignore[return-value]


@dataclass(frozen=True)
class Recipient:
    """Who a notification is for: the user's name, e-mail address and language."""

    name: str
    email: str | None = None
    language: str = "en"


def resolve(site: Site, user: str) -> Recipient:
    """The recipient called ``user``, through ``site.jobs.recipient_resolver`` when set;
    otherwise the site's user of that name (``yiti_user``: e-mail and language, so a
    schedule's reminder to a user created ``--language zh-CN`` is in Chinese), or just
    the name (an address when it holds an ``@``)."""
    from yiti.jobs import jobs_of

    resolver = jobs_of(site).recipient_resolver
    if resolver is not None:
        return resolver(user)
    t = site.tables.get("yiti_user")
    row = None
    if t is not None:
        with reading(site.engine) as conn:
            row = conn.execute(select(t.c.email, t.c.language).where(t.c.name == user)).first()
    if row is None:
        return Recipient(user, user if "@" in user else None)
    return Recipient(user, row.email, row.language or "en")


def pick(text: Any, language: str) -> str:
    """The text for ``language`` from a string or a map of language to text."""
    if not isinstance(text, Mapping):
        return "" if text is None else str(text)
    for choice in (language, language.split("-")[0], "en"):
        if choice in text:
            return str(text[choice])
    for key, value in text.items():
        if key.split("-")[0] == language.split("-")[0]:
            return str(value)
    return str(next(iter(text.values()), ""))


def template_source(site: Site, name: str, language: str) -> tuple[str, str]:
    """(subject, body) of template ``name`` in ``language``: the analysts' edit, or the pack's."""
    t = site.tables["yiti_notification_template"]
    with reading(site.engine) as conn:
        rows = {r.language: (r.subject, r.body) for r in conn.execute(
            select(t.c.language, t.c.subject, t.c.body).where(t.c.name == name))}
    declared = site.model.extra.get("notifications", {}).get(name)
    if declared is None and not rows:
        found = site.model.extra.get("notifications", {})
        hint = did_you_mean(name, found)
        raise NotFound(f"no notification template {name!r}" + (f"; {hint}" if hint else ""))
    if rows:
        subject = pick({k: v[0] for k, v in rows.items()}, language)
        body = pick({k: v[1] for k, v in rows.items()}, language)
        edited = any(k in rows for k in (language, language.split("-")[0]))
        if edited or declared is None:
            return subject, body
    assert declared is not None
    return pick(declared.body.get("subject"), language), pick(declared.body.get("body"), language)


def render(site: Site, name: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    subject, body = template_source(site, name, language)
    env = sandbox(site, language)
    context = _in_zone(context, site.settings.timezone)
    try:
        return (env.from_string(subject).render(**context).strip(),
                env.from_string(body).render(**context))
    except TemplateError as error:
        raise ValidationError(f"notification template {name} ({language}): {error}") from None


def _in_zone(value: Any, tz: str) -> Any:
    """The context with its datetimes (in mappings and lists too) in the site's zone, so
    what a template reads of one (``{{ due.date() }}``, ``{{ due.hour }}``) is the local
    day and hour, as its printed value is."""
    if isinstance(value, dt.datetime):
        return local_time(value, tz)
    if isinstance(value, Mapping):
        return {k: _in_zone(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_in_zone(v, tz) for v in value]
    return value


def save_template(site: Site, name: str, language: str, subject: str, body: str, *,
                  user: str | None = None) -> None:
    """Keep an analyst's edit of a template (checked by compiling it in the sandbox)."""
    for part, source in (("subject", subject), ("body", body)):
        try:
            _env.parse(source)
        except TemplateError as error:
            raise ValidationError(f"{part}: {error}", field=part) from None
    from yiti.jobs import jobs_of

    t = site.tables["yiti_notification_template"]
    now = jobs_of(site).now()
    values = {"subject": subject, "body": body, "modified_at": now, "modified_by": user}
    with transaction(site.engine) as tx:
        changed = tx.conn.execute(update(t).where(t.c.name == name, t.c.language == language)
                                  .values(values))
        if changed.rowcount == 0:
            tx.conn.execute(insert(t).values(name=name, language=language, **values))


def notify(site: Site, user: str, *, template: str | None = None,
           context: Mapping[str, Any] | None = None, subject: str | None = None,
           body: str | None = None, link: str | None = None, email: bool = True,
           language: str | None = None) -> int:
    """Notify ``user`` (in-app, and by e-mail when SMTP is set up and the address known).

    Give a ``template`` and its ``context``, or a ``subject`` and ``body``. Inside a
    transaction the notification appears, and the e-mail leaves, only if it commits.
    """
    from yiti.jobs import jobs_of

    jobs = jobs_of(site)
    recipient = resolve(site, user)
    language = language or recipient.language
    if template:
        subject, body = render(site, template, language, dict(context or {}))
    if not subject:
        raise ValueError("notify() needs a template or a subject")
    t = site.tables["yiti_notification"]
    with transaction(site.engine) as tx:
        ident = tx.conn.execute(insert(t).values(
            user=user, template=template, language=language, subject=subject[:255],
            body=body or "", link=link, created_at=jobs.now(), email=recipient.email,
        ).returning(t.c.id)).scalar_one()
        if email and recipient.email and jobs.settings.smtp is not None:
            job_id = jobs.enqueue(EMAIL, {"notification_id": ident},
                                  key=f"notification-email:{ident}")
            tx.conn.execute(update(t).where(t.c.id == ident).values(email_job_id=job_id))
    return int(ident)


def unread_count(site: Site, user: str) -> int:
    t = site.tables["yiti_notification"]
    with reading(site.engine) as conn:
        return int(conn.execute(select(func.count()).where(
            t.c.user == user, t.c.read_at.is_(None))).scalar_one())


def for_user(site: Site, user: str, *, limit: int = 50, unread: bool = False
             ) -> list[dict[str, Any]]:
    t = site.tables["yiti_notification"]
    query = select(t).where(t.c.user == user).order_by(t.c.id.desc()).limit(limit)
    if unread:
        query = query.where(t.c.read_at.is_(None))
    with reading(site.engine) as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def mark_read(site: Site, user: str, ids: Sequence[int] | None = None) -> int:
    """Mark the user's notifications ``ids`` (all when None) read; how many changed."""
    from yiti.jobs import jobs_of

    t = site.tables["yiti_notification"]
    query = update(t).where(t.c.user == user, t.c.read_at.is_(None))
    if ids is not None:
        query = query.where(t.c.id.in_(list(ids)))
    with transaction(site.engine) as tx:
        return int(tx.conn.execute(query.values(read_at=jobs_of(site).now())).rowcount)


@job(EMAIL, transactional=False)
def send_email(ctx: JobContext) -> dict[str, Any]:
    """Send a notification's e-mail. At least once: the Message-ID is the same on every
    attempt, so a repeat after a lost acknowledgement can be recognised."""
    smtp = ctx.jobs.settings.smtp
    if smtp is None:
        from yiti.jobs.runner import PermanentError

        raise PermanentError("e-mail is not set up (YITI_SMTP_HOST)")
    t = ctx.site.tables["yiti_notification"]
    with reading(ctx.site.engine) as conn:
        note = conn.execute(select(t).where(t.c.id == ctx.payload["notification_id"])
                            ).mappings().first()
    if note is None or not note["email"]:
        return {"sent": False}
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = note["email"]
    message["Subject"] = note["subject"]
    domain = smtp.sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<yiti-notification-{note['id']}@{domain}>"
    message.set_content(note["body"] or "")
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.tls == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=30, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=30)
    with client:
        if smtp.tls == "starttls":
            client.starttls(context=context)
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(message)
    return {"sent": True, "to": note["email"]}
