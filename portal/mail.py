"""Outgoing mail: SMTP when ``MAIL_SERVER`` is set, otherwise ``.eml`` files in an outbox.

    from portal import mail
    mail.send("someone@example.org", "Subject", "Plain text body", html_body=None)

Every message has a plain-text part and an HTML part: the caller's, or the text's own
words laid out as HTML (``html_from_text``), so both are in the reader's language.

``send`` never raises because of the mail server: a server that is down or refuses
the message is logged (without the body, which may hold a link) and ``send``
returns False. What the user sees must not depend on it.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import threading
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from flask import current_app
from markupsafe import Markup, escape

from portal.db import utcnow

log = logging.getLogger("portal.mail")

SMTP_TIMEOUT = 10


def build(to: str, subject: str, text_body: str, html_body: str | None = None, *,
          message_key: str | None = None, headers: dict[str, str] | None = None) -> EmailMessage:
    """The message; ``message_key`` makes the Message-ID (the same key, the same id: a
    receiver can tell a message offered twice), ``headers`` are added as given."""
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(utcnow())
    domain = _sender_domain(cfg["MAIL_SENDER"])
    message["Message-ID"] = f"<{message_key}@{domain}>" if message_key else make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text_body)
    message.add_alternative(html_body or html_from_text(text_body), subtype="html")
    return message


_LINK = re.compile(r"https?://[^\s<>\"']+")


def html_from_text(text: str) -> str:
    """The HTML part of a mail written as text: the same words (already in the reader's
    language), paragraphs kept and links made clickable. Everything is escaped, so a
    name such as ``<b>Ann</b>`` arrives as written."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        pieces, last = [], 0
        for found in _LINK.finditer(block):
            url = found.group(0).rstrip(".,;:)")
            pieces.append(escape(block[last:found.start()]))
            pieces.append(Markup('<a href="{0}">{0}</a>').format(url))
            last = found.start() + len(url)
        pieces.append(escape(block[last:]))
        lines = Markup("").join(pieces).replace("\n", Markup("<br>\n"))
        paragraphs.append(Markup("<p>{}</p>").format(lines))
    body = Markup("\n").join(paragraphs)
    return ("<!doctype html>\n<html><body style=\"font-family: sans-serif; line-height: 1.5\">\n"
            f"{body}\n</body></html>\n")


def _sender_domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rsplit("@", 1)[-1] or "portal.localhost"


def send(to: str, subject: str, text_body: str, html_body: str | None = None) -> bool:
    """Send one message; True when it was handed over (to the server or the outbox)."""
    message = build(to, subject, text_body, html_body)
    cfg = current_app.config
    try:
        if cfg.get("MAIL_SERVER"):
            _send_smtp(message, cfg)
        else:
            path = _write_outbox(message, cfg["MAIL_OUTBOX"])
            log.info("mail %r to %s written to %s", subject, _mask(to), path)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.error(
            "mail %r to %s could not be sent via %s:%s: %s: %s",
            subject,
            _mask(to),
            cfg.get("MAIL_SERVER") or "outbox",
            cfg.get("MAIL_PORT"),
            exc.__class__.__name__,
            exc,
        )
        return False


def send_in_background(
    to: str, subject: str, text_body: str, html_body: str | None = None
) -> threading.Thread:
    """Send from a thread, so the time the server takes does not show in the response."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    message_args = (to, subject, text_body, html_body)

    def run():
        with app.app_context():
            send(*message_args)

    thread = threading.Thread(target=run, name="portal-mail", daemon=True)
    thread.start()
    return thread


def _send_smtp(message: EmailMessage, cfg) -> None:
    with _connect(cfg) as smtp:
        smtp.send_message(message)


def send_once(message: EmailMessage, mark_sent: Callable[[], None]) -> None:
    """Hand ``message`` over, calling ``mark_sent`` (which commits a sent-marker) after the
    whole message is with the server but before the server's final acknowledgement: the
    SMTP transaction ends with the lone ``.`` line, and a server that never receives it
    drops the message. So a process killed before the marker leaves no message (it is
    sent again), and one killed after it leaves no second one. In the outbox the message
    appears (a rename) only after the marker.

    Raises ``OSError``/``smtplib.SMTPException`` when it was not handed over;
    ``Refused`` when the server refused the finished message after the marker (the
    caller takes the marker back)."""
    cfg = current_app.config
    if not cfg.get("MAIL_SERVER"):
        _write_outbox(message, cfg["MAIL_OUTBOX"], before_publish=mark_sent)
        return
    data = re.sub(rb"(?m)^\.", b"..", message.as_bytes(policy=policy.SMTP))
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    with _connect(cfg) as smtp:
        smtp.ehlo_or_helo_if_needed()
        sender = str(message["From"]).rsplit("<", 1)[-1].rstrip(">")
        code, reply = smtp.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = smtp.rcpt(str(message["To"]).rsplit("<", 1)[-1].rstrip(">"))
        if code not in (250, 251):
            raise smtplib.SMTPDataError(code, reply)
        code, reply = smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        smtp.send(data)
        failpoint("before_marker")
        mark_sent()
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
        failpoint("after_send")
        if code != 250:
            raise Refused(code, reply)


class Refused(smtplib.SMTPDataError):
    """The server refused a message after it was marked sent."""


def failpoint(name: str) -> None:
    """Tests only (``MAIL_FAILPOINT`` = ``name:flag-file``): at ``name``, write the flag
    file and wait to be killed, so a test can kill a real worker at that moment."""
    spec = current_app.config.get("MAIL_FAILPOINT")
    if not spec or not spec.startswith(name + ":"):
        return
    Path(spec.split(":", 1)[1]).write_text(str(os.getpid()))
    threading.Event().wait()


def _connect(cfg):
    host, port = cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"])
    if port == 465:
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
    try:
        if port != 465 and cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _write_outbox(message: EmailMessage, folder: str,
                  before_publish: Callable[[], None] | None = None) -> Path:
    os.makedirs(folder, exist_ok=True)
    name = f"{utcnow().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
    path = Path(folder) / name
    partial = path.with_suffix(".part")
    # Exclusive create with owner-only permissions: messages may hold reset links. The
    # message appears under its .eml name only once it is whole, so a reader of the outbox
    # never sees half a message.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(bytes(message))
    if before_publish is not None:
        before_publish()
    os.replace(partial, path)
    return path


def outbox_messages(folder: str, limit: int = 10) -> list[tuple[Path, EmailMessage]]:
    """The newest messages in the outbox, newest first."""
    root = Path(folder)
    if not root.is_dir():
        return []
    files = sorted(root.glob("*.eml"), key=lambda p: p.name, reverse=True)[:limit]
    parser = BytesParser(policy=policy.default)
    return [(path, parser.parsebytes(path.read_bytes())) for path in files]


def _mask(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
