"""A real SMTP server for the mail tests, an app that sends its mail there, and reading
the local outbox (where mail goes when no server is set, the live server's included)."""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.support.live import free_port
from tests.support.polling import wait_until


def outbox(folder) -> list[tuple[str, str, str]]:
    """(to, subject, plain text) of every message in an outbox folder, oldest first."""
    found = []
    for path in sorted(Path(folder).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        found.append((str(message["To"]), str(message["Subject"]),
                      message.get_body(preferencelist=("plain",)).get_content()))
    return found


def wait_for_mail(folder, to: str, count: int = 1, subject: str | None = None) -> list[tuple[str, str]]:
    """Poll the outbox until ``count`` messages to ``to`` (with ``subject``, if given) are
    there (mail is written from a thread); returns their (subject, text), oldest first."""

    def mine():
        return [(s, t) for rcpt, s, t in outbox(folder)
                if rcpt == to and (subject is None or s == subject)]

    assert wait_until(lambda: len(mine()) >= count), f"{count} message(s) to {to} expected: {outbox(folder)}"
    return mine()


def link_in(text: str, path: str) -> str:
    """The first absolute link in ``text`` whose path starts with ``path``."""
    match = re.search(r"https?://[^/\s]+" + re.escape(path) + r"\S*", text)
    assert match, f"no {path} link in:\n{text}"
    return match.group(0)


class SMTPInbox:
    """Messages received by a real aiosmtpd server, parsed."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler protocol
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port; yields (host, port, inbox)."""
    inbox = SMTPInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()


@pytest.fixture
def mail_app(app_factory, smtp_server):
    """An app that sends its mail to the test's SMTP server; yields (app, inbox)."""
    host, port, inbox = smtp_server
    app = app_factory(MAIL_SERVER=host, MAIL_PORT=port, MAIL_USE_TLS=False)
    return app, inbox
