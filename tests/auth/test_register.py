"""Registration: fields, unique e-mail (also under a race), birth dates, minors."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.auth import services
from portal.extensions import db
from portal.models.user import User
from tests.support.http import is_logged_in

GOOD = "a very plain passphrase"


def form(**overrides):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "password": GOOD,
        "confirm_password": GOOD,
        "date_of_birth": "2000-12-10",
    }
    data.update(overrides)
    return data


def users(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(User)))


def test_register_creates_active_student_and_logs_in(app, client, audit_events):
    page = client.get("/auth/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("name", "email", "password", "confirm_password", "date_of_birth"):
        assert f'name="{name}"' in html
    response = client.post("/auth/register", data=form(email="  Ada@Example.ORG "))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/dashboard")
    assert is_logged_in(client)
    [user] = users(app)
    assert (user.email, user.role, user.status, user.name) == (
        "ada@example.org",
        "student",
        "active",
        "Ada Lovelace",
    )
    assert user.date_of_birth == date(2000, 12, 10)
    assert user.password_hash.startswith("$argon2id$")
    [event] = audit_events("user.registered")
    assert event.actor_id == user.id and event.resource_type == "user" and event.resource_id == str(user.id)
    assert event.details == {"role": "student", "email": "ada@example.org"}
    assert event.ip == "127.0.0.1" and event.user_agent
    [login] = audit_events("auth.login")
    assert login.details["via"] == "registration"
    # Passwords never reach the audit trail.
    assert all(GOOD not in str(e.details) for e in audit_events())


@pytest.mark.parametrize("email", ["ada@example.org", "ADA@EXAMPLE.ORG", "Ada@Example.Org"])
def test_duplicate_email_in_any_case_is_a_field_error(app, client, make_user, email):
    make_user(email="ada@example.org")
    response = client.post(
        "/auth/register",
        data=form(
            email=email, password="another fine passphrase", confirm_password="another fine passphrase"
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html and "already exists" in html
    assert f'value="{email}"' in html  # typed values kept
    assert "another fine passphrase" not in html  # never the password
    assert len(users(app)) == 1


def test_racing_registrations_make_one_account(app, app_factory, audit_events):
    """Several requests for the same address at the same moment: one account, the others a field error."""
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses = []

    def go(c, i):
        barrier.wait()
        r = c.post("/auth/register", data=form(email="RACE@example.org" if i % 2 else "race@example.org"))
        statuses.append((r.status_code, r.get_data(as_text=True)))

    threads = [threading.Thread(target=go, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in statuses)
    assert codes == [303, 422, 422, 422], codes
    assert all("already exists" in body for code, body in statuses if code == 422)
    assert [u.email for u in users(app)] == ["race@example.org"]
    assert len(audit_events("user.registered")) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter your date of birth"),
        ("31/12/2000", "Enter a real date as YYYY-MM-DD"),
        ("2001-02-30", "Enter a real date as YYYY-MM-DD"),
        ((date.today() + timedelta(days=1)).isoformat(), "must be in the past"),
        (date.today().isoformat(), "must be in the past"),
        ("1850-01-01", "check the year"),
        ((date.today() - timedelta(days=365)).isoformat(), "at least 5 years old"),
    ],
)
def test_bad_date_of_birth(app, client, value, message):
    response = client.post("/auth/register", data=form(date_of_birth=value))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="date_of_birth-error"' in html and message in html
    assert users(app) == []


def test_minor_is_flagged_for_guardian_consent(app, client, audit_events):
    today = date.today()
    dob = date(today.year - 16, 1, 1)
    response = client.post("/auth/register", data=form(date_of_birth=dob.isoformat()), follow_redirects=True)
    assert "guardian" in response.get_data(as_text=True)
    [user] = users(app)
    assert services.needs_guardian_consent(user)
    [event] = audit_events("user.registered")
    assert event.details["needs_guardian_consent"] is True
    # Once consent is recorded, or once they are 18, no longer.
    user.guardian_consent_at = user.created_at
    assert not services.needs_guardian_consent(user)
    user.guardian_consent_at = None
    assert not services.needs_guardian_consent(user, today=date(today.year + 2, 1, 1))


def test_adults_and_staff_need_no_consent(make_user):
    assert not services.needs_guardian_consent(make_user(date_of_birth=date(1990, 1, 1)))
    young_instructor = make_user("instructor", date_of_birth=date(date.today().year - 17, 1, 1))
    assert not services.needs_guardian_consent(young_instructor)


def test_password_rules_apply_at_registration(app, client):
    response = client.post(
        "/auth/register", data=form(password="password123", confirm_password="password123")
    )
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)
    response = client.post("/auth/register", data=form(password=GOOD, confirm_password=GOOD + "x"))
    assert response.status_code == 422
    assert "not the same" in response.get_data(as_text=True)
    response = client.post(
        "/auth/register", data=form(password="ada@example.org", confirm_password="ada@example.org")
    )
    assert "must not be your e-mail" in response.get_data(as_text=True)
    assert users(app) == []


def test_register_htmx_returns_the_form_partial(client):
    response = client.post("/auth/register", data=form(email="not-an-email"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<form" in body and 'id="email-error"' in body
    assert "HX-Request" in response.headers["Vary"]
    ok = client.post("/auth/register", data=form(), headers={"HX-Request": "true"})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].endswith("/dashboard")
