"""Login, logout, lockout, `next`, session renewal and cookie replay."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.auth import services
from portal.extensions import db
from portal.models.user import User, UserSession
from tests.support.http import csrf_token_from, is_logged_in, login, session_cookie, set_session_cookie


def post_login(client, email, password, **extra):
    return client.post("/auth/login", data={"email": email, "password": password, **extra})


def normalised(html: str) -> str:
    """The page without what legitimately differs between two requests: the CSRF token
    (signed with a timestamp, in the form and in the body's htmx headers) and the typed e-mail."""
    html = re.sub(r'name="csrf_token"[^>]*>', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'value="[^"]*@[^"]*"', "", html)


def test_login_success_opens_a_session(app, client, make_user, audit_events):
    user = make_user()
    response = login(client, user)
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")
    assert is_logged_in(client)
    with app.app_context():
        [record] = db.session.scalars(sa.select(UserSession)).all()
        assert record.user_id == user.id and record.ip == "127.0.0.1" and not record.remember
        assert record.expires_at - record.created_at == timedelta(hours=12)
        assert db.session.get(User, user.id).last_login_at is not None
    [event] = audit_events("auth.login")
    assert event.actor_id == user.id and event.details == {"session_id": record.id, "remember": False}
    assert event.ip == "127.0.0.1" and event.outcome == "success"
    # The cookie holds a random reference, never the user id or the token's hash.
    assert record.token_hash not in session_cookie(client)


def test_unknown_email_and_wrong_password_answer_identically(app, client, make_user, audit_events):
    user = make_user(email="known@example.org")
    wrong = post_login(client, "known@example.org", "not the password")
    unknown = post_login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 422
    assert normalised(wrong.get_data(as_text=True)) == normalised(unknown.get_data(as_text=True))
    assert str(services.GENERIC_LOGIN_ERROR) in wrong.get_data(as_text=True)
    # The form itself (what htmx swaps in) is byte for byte the same, bar the typed e-mail.
    htmx = {"HX-Request": "true"}
    wrong_form = client.post(
        "/auth/login", data={"email": "known@example.org", "password": "x" * 12}, headers=htmx
    )
    unknown_form = client.post(
        "/auth/login", data={"email": "nobody@example.org", "password": "x" * 12}, headers=htmx
    )
    assert wrong_form.status_code == unknown_form.status_code == 422
    assert wrong_form.headers == unknown_form.headers or (
        dict(wrong_form.headers) | {"Content-Length": ""}
        == dict(unknown_form.headers) | {"Content-Length": ""}
    )
    assert normalised(wrong_form.get_data(as_text=True)) == normalised(unknown_form.get_data(as_text=True))
    events = audit_events("auth.login_failed")[:2]
    assert [(e.outcome, e.details["reason"]) for e in events] == [
        ("failure", "wrong_password"),
        ("failure", "unknown_email"),
    ]
    assert events[0].actor_id == user.id and events[0].resource_id == str(user.id)
    assert events[1].actor_id is None and events[1].details["email"] == "nobody@example.org"
    assert all(e.ip == "127.0.0.1" and e.user_agent for e in events)
    assert not is_logged_in(client)


def test_typed_email_kept_password_not(client, make_user):
    make_user(email="keep@example.org")
    html = post_login(client, "keep@example.org", "secret attempt 1").get_data(as_text=True)
    assert 'value="keep@example.org"' in html and "secret attempt 1" not in html


@pytest.mark.parametrize("status", ["suspended", "pending"])
def test_suspended_and_pending_accounts_are_refused(app, client, make_user, status, audit_events):
    # A confirmed account an admin set to this status (an unconfirmed registration is
    # pending too, and is told to confirm: tests/auth/test_confirmation.py).
    user = make_user()
    with app.app_context():
        services.set_status(db.session.get(User, user.id), status, None, "by an admin")
        db.session.commit()
    response = post_login(client, user.email, user.password)
    assert response.status_code == 422
    assert str(services.GENERIC_LOGIN_ERROR) in response.get_data(as_text=True)
    assert not is_logged_in(client)
    [event] = audit_events("auth.login_failed")
    assert event.details["reason"] == f"status_{status}"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "https:/evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "/%0d%0a//evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
    ],
)
def test_next_stays_on_site(client, make_user, target):
    user = make_user()
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"email": user.email, "password": user.password}
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    # A path on this site: no scheme, no host, nothing a browser reads as another host.
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert not urlsplit(location).netloc and not urlsplit(location).scheme


def test_next_on_site_is_followed(client, make_user):
    user = make_user()
    response = client.post(
        "/auth/login?next=/auth/sessions%3Fx%3D1", data={"email": user.email, "password": user.password}
    )
    assert response.headers["Location"] == "/auth/sessions?x=1"


def test_session_and_csrf_token_renewed_at_login(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    user = make_user()
    before_token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    before_cookie = session_cookie(client)
    login(client, user)
    after_token = csrf_token_from(client.get("/auth/sessions").get_data(as_text=True))
    assert after_token != before_token
    assert session_cookie(client) != before_cookie
    # A second login on the same browser gets a new server-side session too.
    first_cookie = session_cookie(client)
    client.post("/auth/logout", data={"csrf_token": after_token})
    login(client, user)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 2
    # The cookie from before the login (fixation) and from the first session are anonymous.
    for old in (before_cookie, first_cookie):
        set_session_cookie(client, old)
        assert not is_logged_in(client)


def test_cookie_replayed_after_logout_is_anonymous(app, client, make_user, audit_events):
    user = make_user()
    login(client, user, remember=True)
    copied = session_cookie(client)
    remember = client.get_cookie("portal_remember").value
    assert remember
    response = client.post("/auth/logout")
    assert response.status_code == 303
    assert not is_logged_in(client)
    # Replay the session cookie alone, then the remember cookie alone.
    attacker = app.test_client()
    set_session_cookie(attacker, copied)
    assert not is_logged_in(attacker)
    attacker = app.test_client()
    attacker.set_cookie("portal_remember", remember)
    assert not is_logged_in(attacker)
    [event] = audit_events("auth.logout")
    assert event.actor_id == user.id
    with app.app_context():
        record = db.session.scalars(sa.select(UserSession)).one()
        assert record.revoked_reason == "logout" and event.details["session_id"] == record.id


def test_remember_cookie_restores_a_live_session(app, client, make_user):
    user = make_user()
    login(client, user, remember=True)
    remember = client.get_cookie("portal_remember").value
    other = app.test_client()
    other.set_cookie("portal_remember", remember)
    assert is_logged_in(other)  # browser restarted: the session cookie is gone, the remember one works
    with app.app_context():
        record = db.session.scalars(sa.select(UserSession)).one()
        assert record.remember and record.expires_at - record.created_at == timedelta(days=30)


def test_logged_in_user_visiting_login_is_sent_on(client, login_as):
    login_as()
    response = client.get("/auth/login")
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")


def test_login_htmx_partial(client, make_user):
    user = make_user()
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": "nope nope nope"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and str(services.GENERIC_LOGIN_ERROR) in body
    assert "HX-Request" in response.headers["Vary"]
