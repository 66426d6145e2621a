"""Users: search, filters, pagination, the account actions and their guard rails."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import sqlalchemy as sa

from portal.admin import services as admin_services
from portal.auth import services as auth_services
from portal.db import utcnow
from portal.extensions import db
from portal.models.user import LoginThrottle, Role, User, UserSession
from tests.support.http import login
from tests.support.queries import of_request


def _user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _add_users(app, n, prefix="bulk", role=Role.STUDENT, status="active"):
    with app.app_context():
        for i in range(n):
            db.session.add(
                User(
                    email=f"{prefix}{i:03d}@example.test",
                    name=f"{prefix.title()} {i:03d}",
                    role=role,
                    status=status,
                )
            )
        db.session.commit()


# --- list ---------------------------------------------------------------------------------


def test_search_by_name_or_email_case_insensitively(client, logged_admin, make_user):
    make_user(name="Grace Hopper", email="grace@navy.test")
    make_user(name="Alan Turing", email="alan@bletchley.test")
    body = client.get("/admin/users?q=HOPPER").get_data(as_text=True)
    assert "Grace Hopper" in body and "Alan Turing" not in body
    body = client.get("/admin/users?q=bletchley").get_data(as_text=True)
    assert "Alan Turing" in body and "Grace Hopper" not in body
    # LIKE wildcards are taken literally.
    body = client.get("/admin/users?q=%25").get_data(as_text=True)
    assert "No users match" in body


def test_filter_by_role_and_status(client, logged_admin, make_user):
    make_user(Role.INSTRUCTOR, name="Ivy Instructor")
    make_user(name="Sam Suspended", status="suspended")
    make_user(name="Sue Student")
    body = client.get("/admin/users?role=instructor").get_data(as_text=True)
    assert "Ivy Instructor" in body and "Sue Student" not in body
    body = client.get("/admin/users?role=student&status=suspended").get_data(as_text=True)
    assert "Sam Suspended" in body and "Sue Student" not in body and "Ivy" not in body
    # Unknown values get a message next to their field and are left out of the filter.
    bad = client.get("/admin/users?role=wizard&status=x&sort=nope")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field_id, message in [
        ("role", "Choose one of the roles listed."),
        ("status", "Choose one of the statuses listed."),
        ("sort", "Choose one of the orders listed."),
    ]:
        assert f'aria-describedby="{field_id}-error"' in html, field_id
        assert message in html.split(f'id="{field_id}-error"')[1].split("</small>")[0], field_id
    assert "Sam Suspended" in html  # the filters not understood are left out, not applied


def test_keyset_pagination_walks_every_user_once(app, client, logged_admin):
    _add_users(app, 60)
    seen, url, pages = [], "/admin/users?q=bulk&sort=-name", 0
    while url:
        body = client.get(url).get_data(as_text=True)
        seen += list(re.findall(r">(Bulk \d{3})</a>", body))
        pages += 1
        next_link = re.search(r'href="(/admin/users\?[^"]*after=[^"]*)" rel="next"', body)
        url = next_link.group(1).replace("&amp;", "&") if next_link else None
    assert pages == 3
    assert seen == sorted((f"Bulk {i:03d}" for i in range(60)), reverse=True)


def test_sort_newest_first_and_damaged_cursor(app, client, logged_admin, make_user):
    make_user(name="Older One")
    make_user(name="Newer One")
    body = client.get("/admin/users?sort=newest").get_data(as_text=True)
    assert body.index("Newer One") < body.index("Older One")
    assert client.get("/admin/users?after=!!!garbage").status_code == 200


def test_htmx_filtering_returns_the_partial(client, logged_admin, make_user):
    make_user(name="Partial Person")
    response = client.get("/admin/users?q=partial", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="user-results"' in body and "Partial Person" in body
    assert "HX-Request" in response.headers["Vary"]
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'hx-push-url="true"' in page and 'method="get"' in page


# --- create ---------------------------------------------------------------------------------


def test_create_user_emails_a_set_password_link(mail_app, audit_events):
    app, inbox = mail_app
    client = app.test_client()

    with app.app_context():
        admin_id = auth_services.create_user(
            "boss@example.test", "Boss", Role.ADMIN, password="correct horse battery"
        ).id
        db.session.commit()
    login(client, type("U", (), {"email": "boss@example.test", "password": "correct horse battery"}))
    response = client.post(
        "/admin/users/new",
        data={
            "name": "New Coach",
            "email": "New.Coach@Example.org",
            "role": "instructor",
            "date_of_birth": "",
        },
    )
    assert response.status_code == 303
    messages = inbox.wait_for(1)
    rcpt, message = messages[0]
    assert rcpt == ["new.coach@example.org"]
    assert "/auth/reset-password/" in inbox.text(message)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "new.coach@example.org"))
        assert (user.role, user.status, user.password_hash) == ("instructor", "pending", None)
    # The new owner chooses a password with the link, and can then log in.
    link = re.search(r"http://portal\.test(/auth/reset-password/\S+)", inbox.text(message)).group(1)
    owner = app.test_client()
    chosen = owner.post(
        link, data={"password": "a fresh long passphrase", "confirm_password": "a fresh long passphrase"}
    )
    assert chosen.status_code in (302, 303)
    with app.app_context():
        assert (
            db.session.scalar(sa.select(User.status).where(User.email == "new.coach@example.org")) == "active"
        )
    login(
        app.test_client(),
        type("U", (), {"email": "new.coach@example.org", "password": "a fresh long passphrase"}),
    )
    created = audit_events("user.created")[-1]
    assert created.actor_id == admin_id and created.details["role"] == "instructor"


def test_create_user_errors_keep_what_was_typed(client, logged_admin, make_user):
    taken = make_user(email="taken@example.org")
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Someone",
            "email": taken.email,
            "role": "student",
            "date_of_birth": "2999-01-01",
        },
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'value="Someone"' in body
    assert "field-error" in body
    response = client.post(
        "/admin/users/new",
        data={
            "name": "Someone",
            "email": taken.email,
            "role": "student",
            "date_of_birth": "",
        },
    )
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)


# --- role and status ---------------------------------------------------------------------------


def test_suspension_ends_the_users_sessions_at_once(app, client, logged_admin, second_client, audit_events):
    student, their_client = second_client()
    assert their_client.get("/dashboard").status_code == 200
    response = client.post(
        f"/admin/users/{student.id}/status", data={"status": "suspended", "reason": "Unpaid fees"}
    )
    assert response.status_code == 303
    assert their_client.get("/dashboard").status_code == 302  # logged out: back to login
    assert _user(app, student.id).status == "suspended"
    event = audit_events("user.status_changed")[-1]
    assert event.details["before"] == "active" and event.details["after"] == "suspended"
    assert event.details["reason"] == "Unpaid fees" and event.actor_id == logged_admin.id


def test_demotion_ends_the_users_sessions_at_once(app, client, logged_admin, second_client, audit_events):
    other_admin, their_client = second_client(Role.ADMIN)
    assert their_client.get("/admin/").status_code == 200
    response = client.post(
        f"/admin/users/{other_admin.id}/role", data={"role": "instructor", "reason": "Changed job"}
    )
    assert response.status_code == 303
    assert their_client.get("/admin/").status_code == 302
    assert _user(app, other_admin.id).role == "instructor"
    event = audit_events("user.role_changed")[-1]
    assert (event.details["before"], event.details["after"]) == ("admin", "instructor")


def test_admin_cannot_suspend_or_demote_themselves(app, client, logged_admin, make_user, audit_events):
    make_user(Role.ADMIN)  # not the last admin: the self-rule alone refuses
    response = client.post(
        f"/admin/users/{logged_admin.id}/status", data={"status": "suspended", "reason": "Oops"},
        follow_redirects=True,
    )
    assert response.status_code == 422
    assert "cannot suspend or deactivate your own account" in response.get_data(as_text=True)
    response = client.post(f"/admin/users/{logged_admin.id}/role", data={"role": "student", "reason": "Oops"},
                           follow_redirects=True)
    assert response.status_code == 422
    assert "cannot remove your own admin role" in response.get_data(as_text=True)
    me = _user(app, logged_admin.id)
    assert (me.role, me.status) == ("admin", "active")
    assert client.get("/admin/").status_code == 200
    assert audit_events("user.role_changed") == [] and audit_events("user.status_changed") == []


def test_last_active_admin_cannot_be_removed(app, client, logged_admin, make_user):
    other = make_user(Role.ADMIN)
    make_user(Role.ADMIN, status="suspended")  # a suspended admin does not count
    # The logged-in admin removes the other one: fine, one active admin is left.
    assert (
        client.post(f"/admin/users/{other.id}/role", data={"role": "student", "reason": "Left"}).status_code
        == 303
    )
    with app.app_context():
        me = db.session.get(User, logged_admin.id)
        # Acting as a (hypothetical) different admin, removing the last one is refused.
        ghost = User(id=-1, email="ghost@example.test", name="Ghost", role=Role.ADMIN)
        for change in (
            lambda: admin_services.change_role(me, "student", ghost, "x"),
            lambda: admin_services.change_status(me, "suspended", ghost, "x"),
        ):
            try:
                change()
            except admin_services.AdminError as exc:
                assert "last active admin" in str(exc)
            else:
                raise AssertionError("the last admin must stay")
        db.session.rollback()


def test_reason_is_required_and_no_op_is_refused(client, logged_admin, make_user):
    student = make_user()
    response = client.post(f"/admin/users/{student.id}/status", data={"status": "suspended", "reason": ""},
                           follow_redirects=True)
    assert response.status_code == 422
    response = client.post(f"/admin/users/{student.id}/role", data={"role": "student", "reason": "x"},
                           follow_redirects=True)
    assert response.status_code == 422 and "already has the role" in response.get_data(as_text=True)


def test_reactivating_and_promoting(app, client, logged_admin, make_user):
    student = make_user(status="suspended")
    assert (
        client.post(
            f"/admin/users/{student.id}/status", data={"status": "active", "reason": "Paid"}
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"/admin/users/{student.id}/role", data={"role": "instructor", "reason": "Hired"}
        ).status_code
        == 303
    )
    user = _user(app, student.id)
    assert (user.role, user.status) == ("instructor", "active")


# --- consent, unlock, sessions ------------------------------------------------------------------


def test_guardian_consent_for_a_minor(app, client, logged_admin, make_user, audit_events):
    minor = make_user(date_of_birth=date.today() - timedelta(days=16 * 365))
    page = client.get(f"/admin/users/{minor.id}").get_data(as_text=True)
    assert "Record consent" in page
    refused = client.post(f"/admin/users/{minor.id}/consent", data={"guardian_name": ""},
                          follow_redirects=True)
    assert refused.status_code == 422 and refused.request.path == f"/admin/users/{minor.id}"
    assert (
        client.post(f"/admin/users/{minor.id}/consent", data={
            "guardian_name": "Rosa Martínez", "relationship": "mother", "method": "email", "note": ""}
        ).status_code == 303
    )
    user = _user(app, minor.id)
    assert user.guardian_name == "Rosa Martínez" and user.guardian_consent_by_id == logged_admin.id
    assert audit_events("user.consent_recorded")[-1].details["guardian_name"] == "Rosa Martínez"
    assert "Record consent" not in client.get(f"/admin/users/{minor.id}").get_data(as_text=True)


def test_unlock_a_locked_account(app, client, logged_admin, make_user, audit_events):
    student = make_user()
    now = utcnow()
    with app.app_context():
        db.session.add_all([
            LoginThrottle(user_id=student.id, source="ip:203.0.113.9", failures=0, lock_count=2,
                          locked_until=now + timedelta(minutes=10), last_failure_at=now, updated_at=now),
            LoginThrottle(user_id=student.id, source="*", failures=12, lock_count=0,
                          last_failure_at=now, updated_at=now),
        ])
        db.session.commit()
    page = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert "203.0.113.9" in page and "lock 2 in a row" in page and "12 counting" in page
    assert client.post(f"/admin/users/{student.id}/unlock").status_code == 303
    with app.app_context():
        rows = db.session.scalars(sa.select(LoginThrottle).where(LoginThrottle.user_id == student.id)).all()
        assert [(r.failures, r.locked_until) for r in rows] == [(0, None), (0, None)]
        # The backoff is remembered: that address's next lock is longer still.
        assert {r.source: r.lock_count for r in rows}["ip:203.0.113.9"] == 2
    assert audit_events("user.unlocked")[-1].details["was_locked"] is True
    assert "lock 2 in a row" not in client.get(f"/admin/users/{student.id}").get_data(as_text=True)


def test_end_all_sessions(app, client, logged_admin, second_client, audit_events):
    student, their_client = second_client()
    page = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert "1 active session" in page
    assert client.post(f"/admin/users/{student.id}/sessions/end").status_code == 303
    assert their_client.get("/dashboard").status_code == 302
    with app.app_context():
        live = db.session.scalar(
            sa.select(sa.func.count(UserSession.id)).where(
                UserSession.user_id == student.id, UserSession.revoked_at.is_(None)
            )
        )
    assert live == 0
    assert audit_events("user.sessions_ended")[-1].details["count"] == 1


def test_user_page_shows_licenses_and_activity(
    client, logged_admin, make_user, make_specialization, make_license
):
    student = make_user(name="Maya Example")
    spec = make_specialization()
    license = make_license(student, spec)
    body = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert license.code in body and spec.name in body
    # Recent activity in sentences (portal.audit.describe), not action names.
    said = html.unescape(body)
    assert "the account of Maya Example" in said or "Maya Example's" in said


def test_the_user_list_reads_a_fuller_page_with_the_same_statements(app, client, logged_admin):
    # The list reads plain rows: 3 accounts or 25, the same statements (no per-row query).
    _add_users(app, 2)
    small = of_request(app, client, "/admin/users", leave_out=("user_sessions",))
    _add_users(app, 30, prefix="more")
    large = of_request(app, client, "/admin/users", leave_out=("user_sessions",))
    assert client.get("/admin/users").get_data(as_text=True).count('<td data-label="E-mail">') == 25
    assert large == small
