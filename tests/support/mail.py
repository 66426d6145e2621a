"""A real SMTP server for the mail tests, and an app that sends its mail there."""

from __future__ import annotations

import threading
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from tests.support.live import free_port


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
