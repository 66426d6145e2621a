"""Registration: the same answer for a new and a known address, the confirmation link,
birth dates, minors, and registering twice at the same moment."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.auth import services
from portal.auth.passwords import verify_password
from portal.extensions import db
from portal.models.user import User
from tests.support.http import is_logged_in
from tests.support.mail import link_in, outbox, wait_for_mail

GOOD = "a very plain passphrase"
CONFIRM_SUBJECT = "Confirm your e-mail address for Portal"
NOTICE_SUBJECT = "Someone tried to register with your address"


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


def folder(app):
    return app.config["MAIL_OUTBOX"]


def confirmation_path(app, email: str) -> str:
    [(_, text)] = wait_for_mail(folder(app), email, subject=CONFIRM_SUBJECT)
    return urlsplit(link_in(text, "/auth/verify-email/")).path


def test_register_makes_a_pending_student_and_mails_a_link(app, client, audit_events):
    page = client.get("/auth/register")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("name", "email", "password", "confirm_password", "date_of_birth"):
        assert f'name="{name}"' in html
    response = client.post("/auth/register", data=form(email="  Ada@Example.ORG "))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Check your inbox" in body and "ada@example.org" in body
    assert not is_logged_in(client)
    [user] = users(app)
    assert (user.email, user.role, user.status, user.name) == (
        "ada@example.org", "student", "pending", "Ada Lovelace")
    assert user.email_confirmed_at is None and not user.email_confirmed
    assert user.date_of_birth == date(2000, 12, 10)
    assert user.password_hash.startswith("$argon2id$")
    [event] = audit_events("user.registered")
    # Nobody has shown the address is theirs yet: recorded as anonymous, by label.
    assert event.actor_id is None and event.actor_label == "ada@example.org"
    assert event.resource_type == "user" and event.resource_id == str(user.id)
    assert event.details == {"role": "student", "email": "ada@example.org"}
    assert event.ip == "127.0.0.1" and event.user_agent
    assert audit_events("auth.login") == []
    [(subject, text)] = wait_for_mail(folder(app), "ada@example.org")
    assert subject == CONFIRM_SUBJECT and "24 hours" in text
    link = link_in(text, "/auth/verify-email/")
    assert link.startswith("http://portal.test/auth/verify-email/")
    # Neither the password nor the link's token reach the audit trail.
    token = link.rsplit("/", 1)[1]
    assert all(GOOD not in str(e.details) and token not in str(e.details) for e in audit_events())


def _without(html: str, email: str) -> str:
    return html.replace(email, "ADDRESS")


@pytest.mark.parametrize("typed", ["known@example.org", "KNOWN@EXAMPLE.ORG", " Known@Example.Org "])
def test_known_address_gets_the_same_answer_and_a_notice(app, make_user, audit_events, typed):
    known = make_user(email="known@example.org", name="Kim Known")
    with app.app_context():
        before = db.session.get(User, known.id)
        before_hash = before.password_hash
    new = app.test_client().post("/auth/register", data=form(email="fresh@example.org"))
    again = app.test_client().post("/auth/register", data=form(
        email=typed, name="Mallory", password="another fine passphrase",
        confirm_password="another fine passphrase"))
    # The same status and the same page, but for the address itself.
    assert new.status_code == again.status_code == 200
    assert _without(new.get_data(as_text=True), "fresh@example.org") == _without(
        again.get_data(as_text=True), "known@example.org")
    assert "another fine passphrase" not in again.get_data(as_text=True)
    # The account with that address is as it was; no second account.
    with app.app_context():
        after = db.session.get(User, known.id)
        assert (after.name, after.password_hash, after.status) == ("Kim Known", before_hash, "active")
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2
    # A link to the new address, a notice (no link) to the known one.
    [(subject, text)] = wait_for_mail(folder(app), "known@example.org")
    assert subject == NOTICE_SUBJECT
    assert "someone tried to register" in text.lower() and "/auth/login" in text
    assert "/auth/forgot-password" in text and "/auth/verify-email/" not in text
    wait_for_mail(folder(app), "fresh@example.org", subject=CONFIRM_SUBJECT)
    [event] = audit_events("user.registration_repeated")
    assert event.resource_id == str(known.id) and event.actor_id is None
    assert event.outcome == "failure" and event.details["notice_sent"] is True
    assert event.details["email"] == "known@example.org"


def test_new_and_known_address_over_real_smtp(mail_app, make_user):
    app, inbox = mail_app
    make_user(email="known@example.org")
    client = app.test_client()
    assert client.post("/auth/register", data=form(email="known@example.org")).status_code == 200
    assert client.post("/auth/register", data=form(email="new@example.org")).status_code == 200
    received = {rcpt[0]: message for rcpt, message in inbox.wait_for(2)}
    assert set(received) == {"known@example.org", "new@example.org"}
    assert received["known@example.org"]["Subject"] == NOTICE_SUBJECT
    assert received["new@example.org"]["Subject"] == CONFIRM_SUBJECT
    assert "/auth/verify-email/" not in inbox.text(received["known@example.org"])
    link = link_in(inbox.text(received["new@example.org"]), "/auth/verify-email/")
    response = client.get(urlsplit(link).path)
    assert response.status_code == 303 and is_logged_in(client)


def test_racing_registrations_make_one_account(app, audit_events):
    """Several requests for the same address at the same moment: one account, the same answer."""
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    replies = []

    def go(c, i):
        barrier.wait()
        r = c.post("/auth/register", data=form(email="RACE@example.org" if i % 2 else "race@example.org"))
        replies.append((r.status_code, _without(r.get_data(as_text=True), "race@example.org")))

    threads = [threading.Thread(target=go, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [code for code, _ in replies] == [200] * 4
    assert len({body for _, body in replies}) == 1
    assert [u.email for u in users(app)] == ["race@example.org"]
    assert len(audit_events("user.registered")) == 1
    assert len(audit_events("user.registration_repeated")) == 3
    mails = wait_for_mail(folder(app), "race@example.org", count=4)
    assert sorted(s for s, _ in mails) == [CONFIRM_SUBJECT] + [NOTICE_SUBJECT] * 3


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


def test_form_errors_are_the_same_for_a_known_address(app, client, make_user):
    """Field checks do not depend on the address having an account."""
    make_user(email="known@example.org")
    for data in ({"password": "password123", "confirm_password": "password123"},
                 {"date_of_birth": "2100-01-01"}):
        known = client.post("/auth/register", data=form(email="known@example.org", **data))
        new = client.post("/auth/register", data=form(email="other@example.org", **data))
        assert known.status_code == new.status_code == 422
        assert re.findall(r'id="(\w+)-error"', known.get_data(as_text=True)) == re.findall(
            r'id="(\w+)-error"', new.get_data(as_text=True))
    assert outbox(folder(app)) == []


def test_minor_is_flagged_for_guardian_consent(app, client, audit_events):
    today = date.today()
    dob = date(today.year - 16, 1, 1)
    client.post("/auth/register", data=form(date_of_birth=dob.isoformat()))
    [user] = users(app)
    assert services.needs_guardian_consent(user)
    [event] = audit_events("user.registered")
    assert event.details["needs_guardian_consent"] is True
    # Told once the account is ready: when the link is opened.
    welcome = client.get(confirmation_path(app, user.email), follow_redirects=True)
    assert "guardian" in welcome.get_data(as_text=True)
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


def test_register_htmx_returns_partials(client):
    response = client.post("/auth/register", data=form(email="not-an-email"), headers={"HX-Request": "true"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<form" in body and 'id="email-error"' in body
    assert "HX-Request" in response.headers["Vary"]
    ok = client.post("/auth/register", data=form(), headers={"HX-Request": "true"})
    assert ok.status_code == 200
    body = ok.get_data(as_text=True)
    assert "<html" not in body and 'id="register-card"' in body and "Check your inbox" in body
    # The answer takes the place of the whole card, not only of the form.
    assert ok.headers["HX-Retarget"] == "#register-card" and ok.headers["HX-Reswap"] == "outerHTML"


def test_known_address_still_logs_in_with_its_own_password(app, client, make_user):
    known = make_user(email="known@example.org")
    client.post("/auth/register", data=form(email="known@example.org", password="a new one entirely",
                                            confirm_password="a new one entirely"))
    with app.app_context():
        stored = db.session.get(User, known.id).password_hash
        assert verify_password(stored, known.password)
        assert not verify_password(stored, "a new one entirely")
