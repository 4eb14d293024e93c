"""Outgoing e-mail for offline messages: the visitor's confirmation and agents' replies.

Plain smtplib in a worker thread (asyncio.to_thread), so a slow mail server never blocks the event
loop. E-mail is off while `smtp_host` is empty. A failure is logged and reported as False: the
ticket and the transcript are stored before any e-mail is tried, so nothing is lost with it."""
from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from app.settings import Settings

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 15

# A deliberately plain address check (the widget mirrors it): one "@", no spaces, no control
# characters, a dotted domain of letters, digits and hyphens. Good enough to catch typos and to
# keep anything that could inject a header line out of an e-mail.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
)


def valid_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.match(value) is not None and ".." not in value


def enabled(settings: Settings) -> bool:
    return bool(settings.smtp_host.strip())


def build(settings: Settings, to: str, subject: str, body: str, *, automatic: bool = False) -> EmailMessage:
    if not valid_email(to):
        raise ValueError("not a valid e-mail address")
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject.replace("\r", " ").replace("\n", " ")
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    if automatic:  # RFC 3834: out-of-office robots must not answer it
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(body)
    return msg


def _send_sync(settings: Settings, msg: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SEND_TIMEOUT_S) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)


async def send(settings: Settings, to: str, subject: str, body: str, *, automatic: bool = False) -> bool:
    """Send one plain-text e-mail; True when the server accepted it. Never raises."""
    if not enabled(settings):
        return False
    try:
        msg = build(settings, to, subject, body, automatic=automatic)
        await asyncio.to_thread(_send_sync, settings, msg)
    except Exception:  # noqa: BLE001 - any failure (refused, timeout, bad address) is only logged
        log.exception("could not send e-mail %r to %s", subject, to)
        return False
    log.info("sent e-mail %r to %s", subject, to)
    return True


# ---- what the e-mails say ----------------------------------------------------------------------

_TEXTS = {
    "en": {
        "confirm_subject": "We got your message (#{id})",
        "confirm_body": (
            "Hello,\n\nthank you for your message. Nobody from our team was available to chat just now; "
            "we will reply to this address as soon as we can.\n\nYour reference: #{id}\n"
        ),
        "reply_subject": "Re: your message (#{id})",
        "reply_body": "Hello{name},\n\n{text}\n\n{agent}\n\n---\nYour message:\n\n{message}\n",
        "team": "Support team",
    },
    "el": {
        "confirm_subject": "Λάβαμε το μήνυμά σας (#{id})",
        "confirm_body": (
            "Γεια σας,\n\nσας ευχαριστούμε για το μήνυμά σας. Κανείς από την ομάδα μας δεν ήταν διαθέσιμος "
            "εκείνη τη στιγμή· θα σας απαντήσουμε σε αυτή τη διεύθυνση το συντομότερο.\n\n"
            "Αριθμός αναφοράς: #{id}\n"
        ),
        "reply_subject": "Απ: το μήνυμά σας (#{id})",
        "reply_body": "Γεια σας{name},\n\n{text}\n\n{agent}\n\n---\nΤο μήνυμά σας:\n\n{message}\n",
        "team": "Ομάδα υποστήριξης",
    },
}


def _lang(language: str | None) -> dict:
    return _TEXTS["el" if (language or "").lower().startswith("el") else "en"]


def confirmation(ticket, language: str | None = None) -> tuple[str, str]:
    """Holds nothing the visitor typed: anyone can type any address into the form, and the
    confirmation must not carry a stranger's text to it (no spam relay)."""
    t = _lang(language)
    return t["confirm_subject"].format(id=ticket.id), t["confirm_body"].format(id=ticket.id)


def reply(ticket, text: str, agent_name: str | None, language: str | None = None) -> tuple[str, str]:
    t = _lang(language)
    name = f" {ticket.name}" if ticket.name else ""
    return (t["reply_subject"].format(id=ticket.id),
            t["reply_body"].format(id=ticket.id, name=name, text=text, agent=agent_name or t["team"],
                                   message=ticket.message))
