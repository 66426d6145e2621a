"""Fixtures for the accounts tests: a real SMTP server, audit look-ups, cookies."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models.audit import AuditEvent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    def wait_for(self, count: int = 1, timeout: float = 10.0):
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
    from aiosmtpd.controller import Controller

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


def audit_events(app, action: str | None = None) -> list[AuditEvent]:
    """Audit events (optionally of one action), oldest first, detached."""
    with app.app_context():
        stmt = sa.select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        found = list(db.session.scalars(stmt))
        for event in found:
            db.session.expunge(event)
        return found


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def set_session_cookie(client, value: str) -> None:
    client.set_cookie(client.application.config["SESSION_COOKIE_NAME"], value)


def is_logged_in(client) -> bool:
    """Whether the client's cookies open a page that needs a login."""
    response = client.get("/auth/sessions")
    return response.status_code == 200
