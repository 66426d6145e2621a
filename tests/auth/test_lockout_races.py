"""Lockout under concurrency: parallel guesses on one account are counted one by one.

The attack: many wrong passwords for one account at the same moment, so that more
guesses are checked than the threshold allows, and a right password is accepted
after the account was locked. Threads against the test app (both databases), and
4 gunicorn workers on this run's database (slow).
"""
from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from portal.auth import services
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.user import User
from tests.support.http import login
from tests.support.live import HttpClient, together

THRESHOLD = 3
WRONG = "not the right password at all"


def login_events(app) -> list[tuple[str, str | None]]:
    """(action, reason) of every login-related event, in chain order."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.in_(["auth.login", "auth.login_failed", "auth.lockout"]))
            .order_by(AuditEvent.id)
        ).all()
        return [(r.action, (r.details or {}).get("reason")) for r in rows]


def assert_lockout_held(events):
    wrong = [e for e in events if e == ("auth.login_failed", "wrong_password")]
    assert len(wrong) == THRESHOLD, Counter(events)
    assert [a for a, _ in events].count("auth.lockout") == 1, Counter(events)
    locked_at = events.index(("auth.lockout", None))
    assert ("auth.login", None) not in events[locked_at:], events


def test_parallel_wrong_passwords_are_checked_no_more_than_the_threshold(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=THRESHOLD)
    user = make_user()
    clients = [app.test_client() for _ in range(16)]
    form = {"email": user.email, "password": WRONG}
    replies = together([lambda c=c: c.post("/auth/login", data=form).status_code for c in clients])
    assert set(replies) == {422}
    assert_lockout_held(login_events(app))
    with app.app_context():
        assert services.is_locked(db.session.get(User, user.id))


def test_parallel_guesses_from_many_sources_stop_at_the_account_threshold(app_factory, make_user):
    """Sixteen addresses at once: the account-wide count is kept one by one too, so no more
    than its threshold are checked before every unknown source is refused."""
    app = app_factory(LOCKOUT_THRESHOLD=THRESHOLD, LOCKOUT_ACCOUNT_THRESHOLD=5)
    user = make_user()
    clients = []
    for i in range(16):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"203.0.113.{i + 1}"
        clients.append(client)
    form = {"email": user.email, "password": WRONG}
    replies = together([lambda c=c: c.post("/auth/login", data=form).status_code for c in clients])
    assert set(replies) == {422}
    events = login_events(app)
    assert events.count(("auth.login_failed", "wrong_password")) == 5, Counter(events)
    assert events.count(("auth.login_failed", "locked")) == 11, Counter(events)
    assert [a for a, _ in events].count("auth.lockout") == 1, Counter(events)


def test_right_password_racing_a_lockout_is_not_accepted_after_it(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=THRESHOLD)
    user = make_user()
    clients = [app.test_client() for _ in range(16)]
    calls = [
        lambda c=c, i=i: c.post(
            "/auth/login", data={"email": user.email, "password": user.password if i >= 12 else WRONG}
        ).status_code
        for i, c in enumerate(clients)
    ]
    replies = together(calls)
    assert set(replies) <= {302, 303, 422}
    events = login_events(app)
    lockouts = [i for i, (a, _) in enumerate(events) if a == "auth.lockout"]
    for at in lockouts:
        assert ("auth.login", None) not in events[at:], events
    # Between two successes the count starts again, never more than the threshold.
    run = 0
    for action, reason in events:
        run = run + 1 if reason == "wrong_password" else (0 if action == "auth.login" else run)
        assert run <= THRESHOLD, events


def test_wrong_current_passwords_count_toward_the_lockout(app_factory, make_user):
    app = app_factory(LOCKOUT_THRESHOLD=THRESHOLD)
    user = make_user()
    client = app.test_client()
    login(client, user)
    form = {"current_password": WRONG, "password": "a brand new passphrase 77",
            "confirm_password": "a brand new passphrase 77"}
    for _ in range(THRESHOLD):
        assert client.post("/auth/change-password", data=form).status_code == 422
    with app.app_context():
        assert services.is_locked(db.session.get(User, user.id))
        assert db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "auth.lockout")
        ) == 1
    # Locked: the right current password is not checked either, and login is refused.
    right = {**form, "current_password": user.password}
    response = client.post("/auth/change-password", data=right)
    assert response.status_code == 422
    assert "locked from this device or network" in response.get_data(as_text=True)
    other = app.test_client()
    assert other.post("/auth/login", data={"email": user.email, "password": user.password}).status_code == 422


@pytest.mark.slow
def test_parallel_logins_against_four_workers(app, live_server, make_user):
    user = make_user()
    server = live_server(
        workers=4, GUNICORN_CMD_ARGS="--preload", PORTAL_LOCKOUT_THRESHOLD=str(THRESHOLD)
    )
    visitors = [HttpClient(server.url) for _ in range(24)]
    for v in visitors:
        v.get("/auth/login")
    replies = together([
        lambda v=v, i=i: v.post(
            "/auth/login", {"email": user.email, "password": user.password if i % 6 == 5 else WRONG}
        )
        for i, v in enumerate(visitors)
    ])
    assert {r.status for r in replies} <= {302, 303, 422}, Counter(r.status for r in replies)
    events = login_events(app)
    for at in [i for i, (a, _) in enumerate(events) if a == "auth.lockout"]:
        assert ("auth.login", None) not in events[at:], events
    run = 0
    for action, reason in events:
        run = run + 1 if reason == "wrong_password" else (0 if action == "auth.login" else run)
        assert run <= THRESHOLD, events
