"""The mail module: the local outbox, SMTP, and `flask mail outbox`."""

from __future__ import annotations

import os
import stat

from portal import mail
from tests.support.live import free_port
from tests.support.polling import wait_until


def test_without_server_mail_goes_to_the_outbox(app, tmp_path):
    with app.app_context():
        assert mail.send("ada@example.org", "Hello", "Plain text body", html_body="<p>Hi</p>")
        folder = app.config["MAIL_OUTBOX"]
        [(path, message)] = mail.outbox_messages(folder)
    assert folder.startswith(app.instance_path)
    assert message["To"] == "ada@example.org" and message["Subject"] == "Hello"
    assert message["From"] == app.config["MAIL_SENDER"] and message["Message-ID"]
    assert message.get_body(preferencelist=("plain",)).get_content().strip() == "Plain text body"
    assert message.get_body(preferencelist=("html",)).get_content().strip() == "<p>Hi</p>"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_smtp_send(mail_app):
    app, inbox = mail_app
    with app.app_context():
        assert mail.send("bob@example.org", "Over SMTP", "Body text")
    [(rcpt, message)] = inbox.wait_for(1)
    assert rcpt == ["bob@example.org"] and message["Subject"] == "Over SMTP"
    assert inbox.text(message).strip() == "Body text"


def test_smtp_down_is_logged_and_returns_false(app_factory, caplog):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    with app.app_context(), caplog.at_level("ERROR", logger="portal.mail"):
        assert mail.send("carol@example.org", "Lost", "secret link http://x/reset/abc") is False
    [entry] = [r for r in caplog.records if r.name == "portal.mail"]
    assert "could not be sent" in entry.getMessage()
    assert "secret link" not in entry.getMessage() and "carol@" not in entry.getMessage()


def test_outbox_cli_lists_newest(app, runner, make_user, client):
    make_user(email="cli@example.org")
    client.post("/auth/forgot-password", data={"email": "cli@example.org"})
    folder = app.config["MAIL_OUTBOX"]

    wait_until(lambda: mail.outbox_messages(folder))  # sent from a thread
    result = runner.invoke(args=["mail", "outbox"])
    assert result.exit_code == 0, result.output
    assert f"Outbox: {folder}" in result.output
    assert "cli@example.org" in result.output and "Reset your Portal password" in result.output
    shown = runner.invoke(args=["mail", "outbox", "--show"])
    assert "/auth/reset-password/" in shown.output


def test_outbox_cli_when_empty(runner, app):
    result = runner.invoke(args=["mail", "outbox"])
    assert result.exit_code == 0 and "No messages." in result.output
