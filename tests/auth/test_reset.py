"""Forgotten password, reset links, change password, and the notices they send."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.auth import services, tokens
from portal.auth.passwords import verify_password
from portal.db import utcnow
from portal.extensions import db
from portal.models.user import User, UserSession
from tests.support.http import is_logged_in, login
from tests.support.live import free_port
from tests.support.polling import wait_until

NEW = "a brand new passphrase"


def reset_link(text: str) -> str:
    match = re.search(r"http://portal\.test(/auth/reset-password/\S+)", text)
    assert match, text
    return match.group(1)


def token_for(app, user, purpose="reset"):
    with app.app_context():
        return tokens.make_token(db.session.get(User, user.id), purpose)


def test_forgot_password_same_answer_and_mail_over_smtp(mail_app, make_user, audit_events):
    app, inbox = mail_app
    user = make_user(email="forgot@example.org")
    client = app.test_client()
    known = client.post("/auth/forgot-password", data={"email": "Forgot@Example.org"})
    unknown = client.post("/auth/forgot-password", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    page_known = client.get(known.headers["Location"]).get_data(as_text=True)
    assert "If an account exists for that address" in page_known
    [(rcpt, message)] = inbox.wait_for(1)
    assert rcpt == ["forgot@example.org"] and message["Subject"] == "Reset your Portal password"
    text = inbox.text(message)
    assert "/auth/reset-password/" in text and "60 minutes" in text
    events = audit_events("auth.password_reset_requested")
    assert [e.outcome for e in events] == ["success", "failure"]
    assert events[0].resource_id == str(user.id) and events[1].details["reason"] == "unknown_email"
    assert all(e.ip and e.user_agent for e in events)
    token = reset_link(text).rsplit("/", 1)[1]
    assert all(token not in str(e.details) for e in audit_events())


def test_smtp_down_changes_nothing_the_user_sees(app_factory, make_user, caplog):
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_USE_TLS=False)
    make_user(email="down@example.org")
    client = app.test_client()
    with caplog.at_level("ERROR", logger="portal.mail"):
        known = client.post("/auth/forgot-password", data={"email": "down@example.org"})
        unknown = client.post("/auth/forgot-password", data={"email": "nobody@example.org"})
        # The mail goes out from a thread.
        wait_until(lambda: any("could not be sent" in r.message for r in caplog.records))
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"]
    assert any("could not be sent" in r.message for r in caplog.records)
    assert not any("/auth/reset-password/" in r.getMessage() for r in caplog.records)


def test_reset_flow_moves_token_out_of_url_and_ends_other_sessions(mail_app, make_user, audit_events):
    app, inbox = mail_app
    user = make_user(email="reset@example.org")
    elsewhere = app.test_client()
    login(elsewhere, user)
    client = app.test_client()
    client.post("/auth/forgot-password", data={"email": user.email})
    path = reset_link(inbox.text(inbox.wait_for(1)[0][1]))
    first = client.get(path)
    assert first.status_code == 303 and first.headers["Location"] == "/auth/reset-password"
    form = client.get("/auth/reset-password")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "reset@example.org" in html
    assert path.rsplit("/", 1)[1] not in html  # the token is not in the page either
    response = client.post("/auth/reset-password", data={"password": NEW, "confirm_password": NEW})
    assert response.status_code == 303 and response.headers["Location"].endswith("/auth/login")
    assert not is_logged_in(elsewhere)
    login(client, user, password=NEW)
    [event] = audit_events("auth.password_reset")
    assert event.resource_id == str(user.id) and event.details["sessions_ended"] == 1
    assert event.ip == "127.0.0.1"
    # The "your password was changed" notice, through the real SMTP server.
    messages = inbox.wait_for(2)
    assert messages[1][0] == [user.email]
    assert messages[1][1]["Subject"] == "Your Portal password was changed"
    assert "was changed" in inbox.text(messages[1][1])
    # The link worked once.
    again = app.test_client()
    again.get(path)
    used = again.get("/auth/reset-password")
    assert used.status_code == 400 and "already used" in used.get_data(as_text=True)


def test_expired_token(app, client, make_user):
    user = make_user()
    with app.app_context():
        serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=tokens._TOKEN_SALT)
        u = db.session.get(User, user.id)
        payload = {"u": u.id, "f": tokens._fingerprint(u), "p": "reset"}

        class PastSigner(TimestampSigner):
            def get_timestamp(self):
                return int((utcnow() - timedelta(minutes=61)).timestamp())

        old = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt=tokens._TOKEN_SALT, signer=PastSigner
        ).dumps(payload)
        fresh = serializer.dumps(payload)
    response = client.post(f"/auth/reset-password/{old}", data={"password": NEW, "confirm_password": NEW})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    client.get(f"/auth/reset-password/{fresh}")
    assert client.get("/auth/reset-password").status_code == 200


def test_tampered_token(app, client, make_user):
    user = make_user()
    token = token_for(app, user)
    body, sig = token.rsplit(".", 1)
    tampered = body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    client.get(f"/auth/reset-password/{tampered}")
    response = client.get("/auth/reset-password")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    # Signed with another key: also refused.
    forged = URLSafeTimedSerializer("another key", salt=tokens._TOKEN_SALT).dumps({"u": user.id, "f": "x"})
    assert (
        client.post(
            f"/auth/reset-password/{forged}", data={"password": NEW, "confirm_password": NEW}
        ).status_code
        == 400
    )


def test_token_for_another_user_changes_only_that_user(app, client, make_user):
    alice, bob = make_user(), make_user()
    token = token_for(app, alice)
    login(client, bob)
    client.get(f"/auth/reset-password/{token}")
    page = client.get("/auth/reset-password").get_data(as_text=True)
    assert alice.email in page
    client.post("/auth/reset-password", data={"password": NEW, "confirm_password": NEW})
    with app.app_context():
        assert verify_password(db.session.get(User, alice.id).password_hash, NEW)
        assert verify_password(db.session.get(User, bob.id).password_hash, bob.password)
    # A token whose fingerprint belongs to Alice cannot be re-pointed at Bob.
    with app.app_context():
        a = db.session.get(User, alice.id)
        forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=tokens._TOKEN_SALT).dumps(
            {"u": bob.id, "f": tokens._fingerprint(a), "p": "reset"}
        )
        with pytest.raises(tokens.TokenError):
            tokens.user_for_token(forged)


def test_token_dies_when_password_changes_otherwise(app, client, make_user):
    user = make_user()
    token = token_for(app, user)
    login(client, user)
    client.post(
        "/auth/change-password",
        data={"current_password": user.password, "password": NEW, "confirm_password": NEW},
    )
    with app.app_context(), pytest.raises(tokens.TokenError):
        tokens.user_for_token(token)


def test_reset_keeps_policy(app, client, make_user):
    user = make_user()
    client.get(f"/auth/reset-password/{token_for(app, user)}")
    response = client.post("/auth/reset-password", data={"password": "short", "confirm_password": "short"})
    assert response.status_code == 422 and 'id="password-error"' in response.get_data(as_text=True)


def test_reset_without_token_explains(client):
    response = client.get("/auth/reset-password")
    assert response.status_code == 400 and "Open the link from your e-mail" in response.get_data(as_text=True)


def test_change_password_ends_other_sessions_and_notifies(mail_app, make_user, audit_events):
    app, inbox = mail_app
    user = make_user()
    here, there = app.test_client(), app.test_client()
    login(here, user)
    login(there, user)
    wrong = here.post(
        "/auth/change-password",
        data={"current_password": "not my password", "password": NEW, "confirm_password": NEW},
    )
    assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.get_data(as_text=True)
    response = here.post(
        "/auth/change-password",
        data={"current_password": user.password, "password": NEW, "confirm_password": NEW},
    )
    assert response.status_code == 303
    assert is_logged_in(here) and not is_logged_in(there)
    events = audit_events("auth.password_changed")
    assert [(e.outcome, e.details.get("reason")) for e in events] == [
        ("failure", "wrong_current_password"),
        ("success", None),
    ]
    assert events[1].details["sessions_ended"] == 1 and events[1].actor_id == user.id
    [(rcpt, message)] = inbox.wait_for(1)
    assert rcpt == [user.email] and message["Subject"] == "Your Portal password was changed"
    with app.app_context():
        ended = db.session.scalars(sa.select(UserSession).where(UserSession.revoked_at.is_not(None))).one()
        assert ended.revoked_reason == "password_changed"


def test_change_password_needs_login(client):
    assert client.get("/auth/change-password").status_code == 302


def test_set_password_link_for_admin_created_account(mail_app, make_user, audit_events):
    app, inbox = mail_app
    admin = make_user("admin")
    with app.app_context():
        user = services.create_user(
            "new@example.org", "New Instructor", "instructor", actor=db.session.get(User, admin.id),
            status="pending",
        )
        db.session.flush()
        assert tokens.send_set_password_link(user, actor=db.session.get(User, admin.id))
        db.session.commit()
    [(rcpt, message)] = inbox.wait_for(1)
    assert rcpt == ["new@example.org"] and "3 days" in inbox.text(message)
    client = app.test_client()
    client.get(reset_link(inbox.text(message)))
    assert "Choose your password" in client.get("/auth/reset-password").get_data(as_text=True)
    client.post("/auth/reset-password", data={"password": NEW, "confirm_password": NEW})
    login(client, type("U", (), {"email": "new@example.org", "password": NEW})())
    event = audit_events("auth.password_reset_requested")[0]
    assert event.actor_id == admin.id and event.details == {"purpose": "set"}
    # Setting the password accepted the invitation: the pending account is active.
    [activated] = audit_events("user.status_changed")
    assert (activated.details["before"], activated.details["after"]) == ("pending", "active")
    [done] = audit_events("auth.password_reset")
    assert done.details["purpose"] == "set"


def test_pending_account_gets_no_reset_link(app, client, make_user, audit_events):
    """Set to pending by an admin (its address confirmed long ago): no link. An account
    waiting for its owner to confirm the address gets one, as that link confirms it
    (tests/auth/test_confirmation.py)."""
    user = make_user(email="pending@example.org")
    with app.app_context():
        services.set_status(db.session.get(User, user.id), "pending", None, "paused")
        db.session.commit()
    client.post("/auth/forgot-password", data={"email": user.email})
    [event] = audit_events("auth.password_reset_requested")
    assert event.outcome == "failure" and event.details["reason"] == "status_pending"
