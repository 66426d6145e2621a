"""Lockout per (account, source), with backoff, the locked message and the owner's mail.

The attack this answers: anyone who knows an address could lock its account for
everyone, again and again, with a few wrong passwords. Now wrong passwords lock the
account only from where they came from; the owner at their usual address logs in.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.auth import lockout, services
from portal.db import utcnow
from portal.extensions import db
from portal.models.user import LoginThrottle, User
from tests.support.http import is_logged_in, login

ATTACKER = "203.0.113.5"
HOME = "198.51.100.7"
WRONG = "wrong password here"


def client_from(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def post_login(client, email, password):
    return client.post("/auth/login", data={"email": email, "password": password})


def throttle(app, user, source) -> LoginThrottle | None:
    with app.app_context():
        row = db.session.get(LoginThrottle, (user.id, source))
        if row is not None:
            db.session.expunge(row)
        return row


def end_locks(app, user) -> None:
    """Move every lock of the account into the past (what waiting would do)."""
    with app.app_context():
        db.session.execute(
            sa.update(LoginThrottle).where(LoginThrottle.user_id == user.id,
                                           LoginThrottle.locked_until.is_not(None))
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()


def lock_from(client, user, times: int):
    replies = [post_login(client, user.email, WRONG) for _ in range(times)]
    assert {r.status_code for r in replies} == {422}
    return replies[-1]


def test_an_attacker_locks_only_their_own_source(app_factory, make_user, audit_events):
    app = app_factory(LOCKOUT_THRESHOLD=3, LOCKOUT_MINUTES=15)
    user = make_user()
    attacker = client_from(app, ATTACKER)
    last = lock_from(attacker, user, 3)
    assert "This account is locked from this device or network until" in last.get_data(as_text=True)
    [lock] = audit_events("auth.lockout")
    assert lock.ip == ATTACKER and lock.resource_id == str(user.id)
    assert lock.details["source"] == f"ip:{ATTACKER}" and lock.details["scope"] == "source"
    assert lock.details["minutes"] == 15 and lock.details["lock_count"] == 1 and lock.details["failures"] == 3
    row = throttle(app, user, f"ip:{ATTACKER}")
    assert lock.details["until"] == row.locked_until.isoformat()
    # The attacker's next try, even with the right password, is refused unchecked...
    refused = post_login(attacker, user.email, user.password)
    assert refused.status_code == 422 and not is_logged_in(attacker)
    assert audit_events("auth.login_failed")[-1].details["reason"] == "locked"
    # ...while the owner at home logs in as usual.
    owner = client_from(app, HOME)
    assert post_login(owner, user.email, user.password).status_code == 303
    assert is_logged_in(owner)
    assert throttle(app, user, f"ip:{HOME}").last_success_at is not None


def test_repeated_locks_of_one_source_back_off_to_a_cap(app_factory, make_user, audit_events):
    app = app_factory(LOCKOUT_THRESHOLD=2, LOCKOUT_MINUTES=15, LOCKOUT_MAX_MINUTES=60)
    user = make_user()
    attacker = client_from(app, ATTACKER)
    for _ in range(4):
        lock_from(attacker, user, 2)
        end_locks(app, user)
    locks = audit_events("auth.lockout")
    assert [e.details["minutes"] for e in locks] == [15, 30, 60, 60]
    assert [e.details["lock_count"] for e in locks] == [1, 2, 3, 4]
    for event in locks:
        # ``until`` and the event's time are read from the clock in the same request.
        lasts = throttle_until(event) - event.at
        assert abs(lasts - timedelta(minutes=event.details["minutes"])) < timedelta(minutes=1)
    # Another source starts at the beginning; so does this one after a right password.
    lock_from(client_from(app, "192.0.2.44"), user, 2)
    assert audit_events("auth.lockout")[-1].details["minutes"] == 15
    end_locks(app, user)
    login(attacker, user)
    lock_from(client_from(app, ATTACKER), user, 2)
    assert audit_events("auth.lockout")[-1].details["minutes"] == 15


def throttle_until(event):
    return datetime.fromisoformat(event.details["until"])


def test_backoff_is_forgotten_after_a_quiet_window(app_factory, make_user, audit_events):
    app = app_factory(LOCKOUT_THRESHOLD=2, LOCKOUT_WINDOW_HOURS=24)
    user = make_user()
    attacker = client_from(app, ATTACKER)
    lock_from(attacker, user, 2)
    with app.app_context():  # the lock ended more than a day ago
        row = db.session.get(LoginThrottle, (user.id, f"ip:{ATTACKER}"))
        row.locked_until = row.last_failure_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    post_login(attacker, user.email, WRONG)
    assert throttle(app, user, f"ip:{ATTACKER}").failures == 1
    lock_from(attacker, user, 1)
    assert [e.details["lock_count"] for e in audit_events("auth.lockout")] == [1, 1]


def test_the_locked_message_names_the_time_and_only_for_an_account(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=2)
    user = make_user()
    attacker = client_from(app, ATTACKER)
    lock_from(attacker, user, 2)
    until = throttle(app, user, f"ip:{ATTACKER}").locked_until
    shown = until.replace(second=0, microsecond=0) + timedelta(minutes=1)
    body = post_login(attacker, user.email, WRONG).get_data(as_text=True)
    # In the reader's zone (the academy's UTC here), with the date when it is not today.
    clock = f"{shown:%H:%M}" if shown.date() == utcnow().date() else f"{shown:%-d %b %Y, %H:%M}"
    assert f"locked from this device or network until {clock} UTC" in body
    assert "Reset your password, or wait until then." in body
    assert str(services.GENERIC_LOGIN_ERROR) not in body
    # htmx gets the same message in the partial.
    partial = attacker.post("/auth/login", data={"email": user.email, "password": WRONG},
                            headers={"HX-Request": "true"})
    assert partial.status_code == 422 and "locked from this device" in partial.get_data(as_text=True)
    # An unknown address never locks: it gets the generic answer however often it is tried.
    for _ in range(4):
        reply = post_login(attacker, "nobody@example.org", WRONG)
        assert str(services.GENERIC_LOGIN_ERROR) in reply.get_data(as_text=True)
        assert "locked" not in reply.get_data(as_text=True)


def test_one_mail_per_lock_over_smtp(mail_app, make_user):
    app, inbox = mail_app
    app.config.update(LOCKOUT_THRESHOLD=2, LOCKOUT_MINUTES=15)
    user = make_user(email="owner@example.org", name="Olive Owner")
    attacker = client_from(app, ATTACKER)
    lock_from(attacker, user, 2)
    [(rcpt, message)] = inbox.wait_for(1)
    assert rcpt == ["owner@example.org"]
    assert message["Subject"] == "Your Portal account was locked after wrong passwords"
    text = inbox.text(message)
    until = throttle(app, user, f"ip:{ATTACKER}").locked_until
    assert "Hello Olive Owner" in text and ATTACKER in text
    assert until.strftime("%H:%M UTC") in text
    assert "http://portal.test/auth/forgot-password" in text
    assert "other devices and networks can still log in" in text
    # Refused attempts while locked send nothing; the next lock sends one more.
    for _ in range(3):
        post_login(attacker, user.email, WRONG)
    end_locks(app, user)
    lock_from(attacker, user, 2)
    messages = inbox.wait_for(2)
    assert [m["Subject"] for _, m in messages] == [message["Subject"]] * 2


def test_locks_started_are_told_once(app_factory, make_user):
    """What the route mails: one notice for the attempt that locks, none for the refused
    ones, none for a second source while a first source's lock is in force."""
    app = app_factory(LOCKOUT_THRESHOLD=2)
    user = make_user()

    def attempt(ip):
        with app.test_request_context("/auth/login", method="POST"):
            try:
                services.login(user.email, WRONG, remember=False, ip=ip, user_agent="t")
            except services.AuthError as exc:
                db.session.commit()
                return exc
        raise AssertionError("a wrong password was accepted")

    assert attempt(ATTACKER).locks_started == ()
    locking = attempt(ATTACKER)
    assert isinstance(locking, services.AccountLocked)
    [notice] = locking.locks_started
    assert notice.email == user.email and notice.lock.source == f"ip:{ATTACKER}"
    assert [attempt(ATTACKER).locks_started for _ in range(3)] == [(), (), ()]
    attempt("192.0.2.44")
    second = attempt("192.0.2.44")
    assert isinstance(second, services.AccountLocked) and second.locks_started == ()


def test_many_sources_lock_the_account_for_unknown_sources_only(app_factory, make_user, audit_events):
    """A guess spread over many addresses: above the account-wide threshold, only the
    sources that logged in before may try; the owner is told."""
    app = app_factory(LOCKOUT_THRESHOLD=3, LOCKOUT_ACCOUNT_THRESHOLD=5)
    user = make_user()
    login(client_from(app, HOME), user)  # the owner's known network
    for i in range(5):
        post_login(client_from(app, f"203.0.113.{10 + i}"), user.email, WRONG)
    [lock] = audit_events("auth.lockout")
    assert lock.details["source"] == "*" and lock.details["scope"] == "account"
    assert lock.details["failures"] == 5
    fresh = client_from(app, "192.0.2.200")
    reply = post_login(fresh, user.email, user.password)
    assert reply.status_code == 422 and "locked from this device or network" in reply.get_data(as_text=True)
    assert audit_events("auth.login_failed")[-1].details["source"] == "*"
    owner = client_from(app, HOME)
    assert post_login(owner, user.email, user.password).status_code == 303


def test_account_wide_lock_mail(mail_app, make_user):
    app, inbox = mail_app
    app.config.update(LOCKOUT_THRESHOLD=3, LOCKOUT_ACCOUNT_THRESHOLD=4)
    user = make_user(email="many@example.org")
    for i in range(4):
        post_login(client_from(app, f"203.0.113.{20 + i}"), user.email, WRONG)
    [(_, message)] = inbox.wait_for(1)
    text = inbox.text(message)
    assert "from many different networks" in text and "logged in from before" in text


def test_a_new_password_lifts_every_lock(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=2)
    user = make_user()
    attacker = client_from(app, ATTACKER)
    lock_from(attacker, user, 2)
    with app.app_context():
        services.store_password(db.session.get(User, user.id), "a new and long passphrase 9")
        db.session.commit()
        assert not services.is_locked(db.session.get(User, user.id))
    assert post_login(attacker, user.email, "a new and long passphrase 9").status_code == 303


def test_a_lock_ends_by_itself(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=2)
    client = app.test_client()
    user = make_user()
    lock_from(client, user, 2)
    end_locks(app, user)
    login(client, user)
    row = throttle(app, user, "ip:127.0.0.1")
    assert row.failures == 0 and row.locked_until is None and row.lock_count == 0


def test_success_resets_the_count_of_its_source(app, client, make_user):
    user = make_user()
    post_login(client, user.email, WRONG)
    assert throttle(app, user, "ip:127.0.0.1").failures == 1
    login(client, user)
    assert throttle(app, user, "ip:127.0.0.1").failures == 0
    # The account-wide count goes on: it is there for guesses spread over many sources.
    assert throttle(app, user, lockout.ACCOUNT_WIDE).failures == 1


@pytest.mark.parametrize("ip, source", [
    ("203.0.113.5", "ip:203.0.113.5"),
    ("2001:db8:1:2::5", "ip:2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:1", "ip:2001:db8:1:2::/64"),
    ("::ffff:203.0.113.5", "ip:203.0.113.5"),
    ("", "ip:unknown"),
    (None, "ip:unknown"),
    ("not an address", "ip:unknown"),
])
def test_sources(ip, source):
    assert lockout.source_for(ip) == source


def test_a_whole_ipv6_64_is_one_source(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=3)
    user = make_user()
    for host in range(3):  # walking through one /64 does not give fresh guesses
        post_login(client_from(app, f"2001:db8:7:7::{host + 1}"), user.email, WRONG)
    reply = post_login(client_from(app, "2001:db8:7:7::99"), user.email, user.password)
    assert reply.status_code == 422 and re.search(r"locked from this device", reply.get_data(as_text=True))
