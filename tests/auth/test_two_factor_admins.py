"""Admins must use two-factor sign-in; sensitive actions ask for it again (step-up); an
admin resets a user's lost second factor (SPEC §9)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import url_for

from portal.audit import actions
from portal.auth import second_factor, two_factor
from portal.db import clock
from portal.extensions import db
from portal.models.user import Role, User, UserStatus
from tests.support.http import is_logged_in, login
from tests.support.mail import outbox
from tests.support.two_factor import enrol


@pytest.fixture
def now():
    moment = datetime.now(UTC).replace(microsecond=0)
    moment -= timedelta(seconds=moment.second % two_factor.STEP_SECONDS)
    with clock(lambda: moment):
        yield moment


@pytest.fixture
def required(app):
    app.config["PORTAL_ADMIN_2FA_REQUIRED"] = True
    return app


def code(secret, moment, steps=0):
    return two_factor.code_at(secret, two_factor.step_at(moment) + steps)


def _sample(rule, app) -> str:
    """A URL of ``rule`` with made-up values (the guard answers before any lookup)."""
    values = {}
    for name in rule.arguments:
        if name in (rule.defaults or {}):
            continue
        converter = rule._converters[name]
        values[name] = 1 if converter.__class__.__name__ in ("IdConverter", "IntegerConverter") else "x"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_an_admin_without_a_second_factor_is_sent_to_enrolment_from_every_page(required, client, login_as):
    app = required
    login_as(Role.ADMIN)
    allowed = second_factor.ENROLMENT_ENDPOINTS
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in allowed:
            continue
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        path = _sample(rule, app)
        response = client.open(path, method=method)
        assert response.status_code in (302, 303), (rule.endpoint, path, response.status_code)
        assert response.headers["Location"].endswith("/account/two-factor"), (rule.endpoint, path)
        checked.append(rule.endpoint)
    assert len(checked) > 50
    # Enrolment itself stays open, and logging out.
    assert client.get("/account/two-factor").status_code == 200
    assert client.post("/account/two-factor/totp").status_code == 200
    assert client.post("/auth/logout").status_code in (302, 303)


def test_htmx_requests_of_such_an_admin_navigate_to_enrolment(required, client, login_as):
    login_as(Role.ADMIN)
    response = client.get("/admin/users", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].endswith("/account/two-factor")


def test_other_roles_and_enrolled_admins_are_not_sent(required, app, client, login_as, make_user, now):
    login_as(Role.STUDENT)
    assert client.get("/dashboard").status_code == 200
    admin = make_user(Role.ADMIN)
    secret = enrol(app, admin)
    desk = app.test_client()
    desk.post("/auth/login", data={"email": admin.email, "password": admin.password})
    desk.post("/auth/two-factor", data={"code": code(secret, now, +1)})
    assert desk.get("/admin/users").status_code == 200


def test_a_user_promoted_to_admin_is_told_at_the_next_login(required, app, client, make_user):
    user = make_user(Role.INSTRUCTOR)
    with app.app_context():
        db.session.get(User, user.id).role = Role.ADMIN
        db.session.commit()
    response = client.post("/auth/login", data={"email": user.email, "password": user.password},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/account/two-factor"
    assert "Admins must use two-factor sign-in" in page


def test_the_rule_can_be_turned_off(app, client, login_as):
    app.config["PORTAL_ADMIN_2FA_REQUIRED"] = False
    login_as(Role.ADMIN)
    assert client.get("/admin/users").status_code == 200


# -- step-up -------------------------------------------------------------------------------


@pytest.fixture
def enrolled_admin(required, app, make_user, now):
    admin = make_user(Role.ADMIN)
    admin.secret = enrol(app, admin)
    client = app.test_client()
    client.post("/auth/login", data={"email": admin.email, "password": admin.password})
    client.post("/auth/two-factor", data={"code": code(admin.secret, now, +1)})
    admin.client = client
    return admin


def test_a_sensitive_action_asks_again_after_15_minutes_and_returns_to_it(
        app, enrolled_admin, make_user, audit_events, now):
    admin, desk = enrolled_admin, enrolled_admin.client
    student = make_user(Role.STUDENT)
    page = f"/admin/users/{student.id}"
    data = {"status": UserStatus.SUSPENDED, "reason": "test"}
    later = now + timedelta(minutes=16)
    with clock(lambda: later):
        asked = desk.post(f"/admin/users/{student.id}/status", data=data,
                          headers={"Referer": "http://localhost" + page})
        assert asked.status_code in (302, 303) and "/auth/step-up" in asked.headers["Location"]
        with app.app_context():
            assert db.session.get(User, student.id).status == UserStatus.ACTIVE  # nothing done
        step = desk.get(asked.headers["Location"])
        assert step.status_code == 200 and 'name="code"' in step.get_data(as_text=True)
        wrong = desk.post(asked.headers["Location"], data={"code": "000000"})
        assert wrong.status_code == 422
        done = desk.post(asked.headers["Location"], data={"code": code(admin.secret, later)})
        assert done.status_code in (302, 303) and done.headers["Location"].endswith(page)
        assert audit_events(actions.STEP_UP)
        again = desk.post(f"/admin/users/{student.id}/status", data=data)
        assert again.status_code in (302, 303) and "/auth/step-up" not in again.headers["Location"]
    with app.app_context():
        assert db.session.get(User, student.id).status == UserStatus.SUSPENDED


def test_within_15_minutes_of_the_login_no_step_up_is_asked(app, enrolled_admin, make_user, now):
    student = make_user(Role.STUDENT)
    with clock(lambda: now + timedelta(minutes=14)):
        response = enrolled_admin.client.post(f"/admin/users/{student.id}/role",
                                              data={"role": Role.INSTRUCTOR, "reason": "teaches"})
    assert "/auth/step-up" not in response.headers["Location"]


@pytest.mark.parametrize("method, path", [
    ("post", "/admin/users/{student}/role"),
    ("post", "/admin/users/{student}/status"),
    ("post", "/admin/users/{student}/reset-two-factor"),
    ("get", "/admin/licenses/bulk"),
    ("get", "/admin/licenses/1/revoke"),
    ("get", "/admin/licenses/1/suspend"),
    ("post", "/account/two-factor/recovery-codes"),
    ("post", "/admin/users/{student}/erase"),
    ("post", "/account/delete"),
])
def test_sensitive_actions_need_a_fresh_second_factor(app, enrolled_admin, make_user, now, method, path):
    student = make_user(Role.STUDENT)
    with clock(lambda: now + timedelta(minutes=20)):
        response = getattr(enrolled_admin.client, method)(path.format(student=student.id))
    assert response.status_code in (302, 303) and "/auth/step-up" in response.headers["Location"]


# -- admin reset ------------------------------------------------------------------------------


def test_an_admin_resets_a_users_two_factor_with_a_reason(app, enrolled_admin, make_user, audit_events, now):
    user = make_user(Role.STUDENT)
    enrol(app, user)
    mine = app.test_client()
    login(mine, user)
    desk = enrolled_admin.client
    missing = desk.post(f"/admin/users/{user.id}/reset-two-factor", data={"reason": ""},
                        headers={"HX-Request": "true"})
    assert missing.status_code == 422
    done = desk.post(f"/admin/users/{user.id}/reset-two-factor", data={"reason": "lost phone, checked ID"})
    assert done.status_code in (302, 303)
    event = audit_events(actions.TWO_FACTOR_RESET)[-1]
    assert event.actor_id == enrolled_admin.id and event.details["reason"] == "lost phone, checked ID"
    with app.app_context():
        assert not two_factor.has_totp(db.session.get(User, user.id))
    assert not is_logged_in(mine)  # their sessions ended
    mails = [(s, t) for to, s, t in outbox(app.config["MAIL_OUTBOX"]) if to == user.email]
    assert any("reset" in s and "lost phone" in t for s, t in mails)
    # Now the password alone logs them in, and they can enrol again.
    assert mine.post("/auth/login", data={"email": user.email, "password": user.password}
                     ).headers["Location"].endswith("/dashboard")
