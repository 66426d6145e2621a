"""The statistics page's "Denied requests" card: refused requests, from ``access.denied`` only.

Denials are recorded aggregated (portal.errors): per source, reason and window, the 1st,
10th, 100th ... with their ``count``. The card adds each source's highest count, so 100
refused requests count as 100, not as the 3 events that record them; 5xx answers
(``request.failed``) and failed logins are not denials.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal import errors
from portal.audit import actions, queries
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.user import Role
from tests.support.http import csrf_token_from, login


@pytest.fixture
def one_window(monkeypatch):
    """All of this test's denials fall in one counting window, whatever the clock says."""
    monkeypatch.setattr(errors, "DENIAL_WINDOW_SECONDS", 10**10)


@pytest.fixture
def refused(app_factory, make_user, one_window):
    """Real refused and failed requests: 100 anonymous CSRF failures, 10 from another
    address, a student's 10 requests for an admin page, 12 server errors and a failed login."""
    app = app_factory(WTF_CSRF_ENABLED=True)

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("boom")

    anonymous = app.test_client()
    assert {anonymous.post("/auth/logout").status_code for _ in range(100)} == {400}
    assert {app.test_client().post("/auth/logout", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code
            for _ in range(10)} == {400}
    student = app.test_client()
    login(student, make_user(Role.STUDENT))
    assert {student.get("/admin/").status_code for _ in range(10)} == {403}
    assert {anonymous.get("/_test/boom").status_code for _ in range(12)} == {500}
    stranger = app.test_client()
    token = csrf_token_from(stranger.get("/auth/login").get_data(as_text=True))
    stranger.post("/auth/login", data={"email": make_user(Role.STUDENT).email, "password": "wrong guess",
                                       "csrf_token": token})
    return app


def test_the_card_adds_the_aggregated_counts_of_access_denied_only(refused):
    app = refused
    with app.app_context():
        rows = db.session.execute(sa.select(AuditEvent.action, AuditEvent.details)).all()
        denied = [d["count"] for a, d in rows if a == actions.ACCESS_DENIED]
        assert sorted(denied) == [1, 1, 1, 10, 10, 10, 100]  # 7 events for 120 refused requests
        assert [d["count"] for a, d in rows if a == actions.REQUEST_FAILED] == [1, 10]
        assert [a for a, _ in rows].count(actions.LOGIN_FAILED) == 1

        s = queries.stats(queries.period_from({}, utcnow()))

        assert (s.denied_requests, s.denied_events) == (120, 7)


def test_the_stats_page_shows_it_and_says_how_it_counts(refused, make_user):
    app = refused
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN))

    html = admin.get("/audit/stats").get_data(as_text=True)

    card = re.search(r"<header>Denied requests</header>(.*?)</article>", html, re.S).group(1)
    assert re.search(r'<p class="stat">(\d+)</p>', card).group(1) == "120"
    assert "7 access.denied events" in card
    assert "at least" in card and "1st, 10th, 100th" in card and "429" in card


def test_events_without_a_count_stand_for_one_request_each(app, make_user, add_events):
    """Events written before denials were aggregated carry no count and no window."""
    bob = make_user(Role.STUDENT)
    denial = {"action": actions.ACCESS_DENIED, "actor": bob, "ip": "192.0.2.9", "outcome": "denied",
              "reason": "role"}
    add_events(denial, denial, {"action": actions.USER_UPDATED, "actor": bob, "outcome": "denied"})
    with app.app_context():
        period = queries.Period(utcnow().replace(year=2000), utcnow().replace(year=2100), "x", "custom")
        s = queries.stats(period)
    assert (s.denied_requests, s.denied_events) == (2, 2)
    assert s.denials == 3  # the outcomes chart still counts every denied event
