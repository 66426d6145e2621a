"""Server-side sessions: the sessions page, revoking, expiry, and the admin services."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth import services, sessions
from portal.db import utcnow
from portal.extensions import db
from portal.models.user import User, UserSession
from tests.support.http import is_logged_in, login

FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Mobile Safari/537.36"
)


def browser(app, user_agent):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def records(app, user_id):
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(UserSession).where(UserSession.user_id == user_id).order_by(UserSession.id)
            )
        )


def test_sessions_page_lists_devices_in_words(app, make_user):
    user = make_user()
    laptop, phone = browser(app, FIREFOX), browser(app, PIXEL)
    login(laptop, user)
    phone.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    login(phone, user)
    html = laptop.get("/auth/sessions").get_data(as_text=True)
    assert "Firefox 128 on Ubuntu" in html
    assert "Chrome Mobile 125 on Android 14 (Pixel 8)" in html
    assert "203.0.113.9" in html and "127.0.0.1" in html
    assert html.count("This device") == 1
    # The current one is marked on the row of this browser.
    current_row = html.split('class="current-session"')[1].split("</tr>")[0]
    assert "Firefox" in current_row


def test_sessions_page_labels_this_device_and_offers_log_out_on_the_others(app, make_user):
    user = make_user()
    laptop, phone = browser(app, FIREFOX), browser(app, PIXEL)
    login(laptop, user)
    login(phone, user)
    html = laptop.get("/auth/sessions").get_data(as_text=True)
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    rows = [r for r in body.split("</tr>") if "<tr" in r]
    [current] = [r for r in rows if "current-session" in r]
    [other] = [r for r in rows if "current-session" not in r]
    assert "This device" in current and "Firefox" in current
    assert ">Log out here</button>" in current
    assert "This device" not in other and "Chrome Mobile" in other
    assert ">Log out</button>" in other
    assert "Log out this device" not in html


def test_revoke_one_across_two_clients(app, make_user, audit_events):
    user = make_user()
    laptop, phone = browser(app, FIREFOX), browser(app, PIXEL)
    login(laptop, user)
    login(phone, user)
    _, phone_session = records(app, user.id)
    response = laptop.post(f"/auth/sessions/{phone_session.id}/revoke")
    assert response.status_code == 303 and response.headers["Location"].endswith("/auth/sessions")
    assert not is_logged_in(phone)
    assert is_logged_in(laptop)
    [event] = audit_events("auth.session_revoked")
    assert event.resource_type == "session" and event.resource_id == str(phone_session.id)
    assert event.actor_id == user.id and event.details["scope"] == "one" and event.details["current"] is False
    assert event.ip == "127.0.0.1" and event.user_agent == FIREFOX


def test_revoke_others_keeps_this_device(app, make_user, audit_events):
    user = make_user()
    clients = [browser(app, FIREFOX), browser(app, PIXEL), browser(app, PIXEL)]
    for c in clients:
        login(c, user)
    response = clients[0].post("/auth/sessions/revoke-others", follow_redirects=True)
    assert "Logged out 2 other sessions" in response.get_data(as_text=True)
    assert [is_logged_in(c) for c in clients] == [True, False, False]
    [event] = audit_events("auth.session_revoked")
    assert event.details["scope"] == "others" and event.details["count"] == 2
    assert event.resource_type == "user" and event.resource_id == str(user.id)


def test_revoking_the_current_session_logs_out(app, client, make_user):
    user = make_user()
    login(client, user)
    [mine] = records(app, user.id)
    response = client.post(f"/auth/sessions/{mine.id}/revoke")
    assert response.status_code == 303 and "/auth/login" in response.headers["Location"]
    assert not is_logged_in(client)


def test_someone_elses_session_is_404_and_recorded(app, make_user, audit_events):
    alice, bob = make_user(), make_user()
    a, b = app.test_client(), app.test_client()
    login(a, alice)
    login(b, bob)
    [bobs] = records(app, bob.id)
    assert a.post(f"/auth/sessions/{bobs.id}/revoke").status_code == 404
    assert a.post("/auth/sessions/999999/revoke").status_code == 404
    assert is_logged_in(b)
    denied = audit_events("access.denied")
    assert denied and denied[0].details["reason"] == "not_owner"


def test_sessions_page_needs_login(client):
    response = client.get("/auth/sessions")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_htmx_revoke_swaps_the_list(app, make_user):
    user = make_user()
    laptop, phone = browser(app, FIREFOX), browser(app, PIXEL)
    login(laptop, user)
    login(phone, user)
    response = laptop.post("/auth/sessions/revoke-others", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'id="sessions"' in body and "Logged out 1 other session" in body
    assert "Pixel" not in body
    assert "HX-Request" in response.headers["Vary"]
    page = laptop.get("/auth/sessions", headers={"HX-Request": "true"})
    assert "<html" not in page.get_data(as_text=True)


def test_idle_timeout(app_factory, make_user):
    app = app_factory(SESSION_IDLE_MINUTES=2)
    client = app.test_client()
    user = make_user()
    login(client, user)
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(seconds=100)))
        db.session.commit()
    asked_at = utcnow()
    assert is_logged_in(client)  # 100 seconds idle: fine, and it counts as activity
    with app.app_context():
        record = db.session.scalars(sa.select(UserSession)).one()
        # Seen during that request (however long a busy machine took to answer it).
        assert record.last_seen_at >= asked_at - timedelta(seconds=1)
        db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(seconds=121)))
        db.session.commit()
    assert not is_logged_in(client)
    # Gone from the list of live sessions as well.
    with app.app_context():
        assert sessions.live_sessions(user.id) == []


def test_last_seen_updated_at_most_once_a_minute(app, client, make_user):
    user = make_user()
    login(client, user)
    with app.app_context():
        recent = utcnow() - timedelta(seconds=30)
        db.session.execute(sa.update(UserSession).values(last_seen_at=recent))
        db.session.commit()
    assert is_logged_in(client)
    [record] = records(app, user.id)
    assert abs((record.last_seen_at - recent).total_seconds()) < 0.01  # not touched within the minute
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
    asked_at = utcnow()
    assert is_logged_in(client)
    [record] = records(app, user.id)
    assert record.last_seen_at >= asked_at - timedelta(seconds=1)
    # A POST (write request) touches it too, inside its own transaction.
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
    asked_at = utcnow()
    client.post("/auth/sessions/revoke-others")
    [record] = records(app, user.id)
    assert record.last_seen_at >= asked_at - timedelta(seconds=1)


def test_absolute_lifetime(app_factory, make_user):
    app = app_factory(SESSION_ABSOLUTE_HOURS=1)
    client = app.test_client()
    user = make_user()
    login(client, user)
    [record] = records(app, user.id)
    assert record.expires_at - record.created_at == timedelta(hours=1)
    with app.app_context():
        # Active all along (last seen just now), but past its lifetime.
        db.session.execute(sa.update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert not is_logged_in(client)


def test_remember_sessions_have_no_idle_limit_but_a_lifetime(app_factory, make_user):
    app = app_factory(SESSION_IDLE_MINUTES=1, SESSION_REMEMBER_DAYS=2)
    client = app.test_client()
    user = make_user()
    login(client, user, remember=True)
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(hours=5)))
        db.session.commit()
    assert is_logged_in(client)
    [record] = records(app, user.id)
    assert record.expires_at - record.created_at == timedelta(days=2)
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    ("change", "action"),
    [
        (lambda u, admin: services.set_status(u, "suspended", admin, "abuse"), "user.status_changed"),
        (lambda u, admin: services.set_role(u, "instructor", admin, "promoted"), "user.role_changed"),
        (lambda u, admin: services.end_all_sessions(u, admin, "lost phone"), "user.sessions_ended"),
    ],
)
def test_admin_changes_end_all_sessions_at_once(app, make_user, change, action, audit_events):
    user = make_user()
    admin = make_user("admin")
    clients = [app.test_client(), app.test_client()]
    for c in clients:
        login(c, user)
    with app.app_context():
        change(db.session.get(User, user.id), db.session.get(User, admin.id))
        db.session.commit()
    assert [is_logged_in(c) for c in clients] == [False, False]
    [event] = audit_events(action)
    assert event.actor_id == admin.id and event.resource_id == str(user.id)
    if action == "user.status_changed":
        assert (event.details["before"], event.details["after"], event.details["reason"]) == (
            "active",
            "suspended",
            "abuse",
        )
        assert event.details["sessions_ended"] == 2
    elif action == "user.role_changed":
        assert (event.details["before"], event.details["after"]) == ("student", "instructor")
        assert event.details["sessions_ended"] == 2
    else:
        assert event.details["count"] == 2 and event.details["reason"] == "lost phone"


def test_suspended_user_cookie_dies_even_without_revocation(app, client, make_user):
    user = make_user()
    login(client, user)
    with app.app_context():
        db.session.get(User, user.id).status = "suspended"
        db.session.commit()
    assert not is_logged_in(client)


def test_bad_status_or_role_is_refused(app, make_user):
    user = make_user()
    with app.app_context():
        u = db.session.get(User, user.id)
        with pytest.raises(services.AuthError):
            services.set_status(u, "deleted", None, "x")
        with pytest.raises(services.AuthError):
            services.set_role(u, "superuser", None, "x")


def test_describe_unknown_agents():
    assert str(sessions.describe(None)) == "Unknown device"
    # A program the parser does not know is named as it names itself, its system unknown.
    assert str(sessions.describe("Werkzeug/3.1")) == "Werkzeug on an unknown system"
