"""Finding 2: anyone could write unlimited audit rows. Every failed CSRF check was
recorded in its own write, and the CSRF check ran before the rate limiter, so 300
anonymous POSTs wrote 300 chained rows and never met a 429.

Now the limits run first, and denials (CSRF, 403, another's object, 429) and 5xx
answers are recorded aggregated: per source (IP, and user when logged in), reason and
hour, the 1st, 10th, 100th ... with their count. The bound tested here: a source adds
at most 1 + log10(n) rows per reason per hour for n refused requests.
"""
from __future__ import annotations

import math

import sqlalchemy as sa

from portal import errors
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.user import Role
from tests.support.http import login

FLOOD = 300


def bound(n: int) -> int:
    return 1 + math.floor(math.log10(n))


def audit_rows(app, action=None) -> list[AuditEvent]:
    with app.app_context():
        query = sa.select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def test_anonymous_csrf_flood_grows_the_audit_trail_by_a_bounded_amount(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    statuses = {client.post("/auth/logout", data={"x": "1"}).status_code for _ in range(FLOOD)}
    assert statuses == {400}
    rows = audit_rows(app)
    assert len(rows) <= bound(FLOOD), len(rows)  # 3 rows for 300 requests, not 300
    assert [r.details["count"] for r in rows] == [1, 10, 100]
    assert {(r.action, r.details["reason"], r.ip) for r in rows} == {("access.denied", "csrf", "127.0.0.1")}


def test_each_source_is_counted_on_its_own(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    user = make_user(Role.STUDENT)
    mine = app.test_client()
    login(mine, user)
    for _ in range(5):
        app.test_client().post("/auth/logout")  # anonymous, same IP
        mine.post("/auth/logout")
        app.test_client().post("/auth/logout", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    rows = audit_rows(app, "access.denied")
    assert sorted((r.ip, r.actor_id or 0) for r in rows) == [
        ("127.0.0.1", 0), ("127.0.0.1", user.id), ("192.0.2.7", 0)]


def test_limits_apply_before_csrf_and_429s_are_aggregated(app_factory, fresh_limiter):
    app = app_factory(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="5 per minute")
    client = app.test_client()
    form = {"email": "someone@example.org", "password": "no token at all"}
    statuses = [client.post("/auth/login", data=form).status_code for _ in range(FLOOD)]
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}
    rows = audit_rows(app)
    by_reason = {}
    for r in rows:
        by_reason.setdefault(r.details["reason"], []).append(r.details["count"])
    assert by_reason == {"csrf": [1], "rate_limited": [1, 10, 100]}
    assert all(r.status in (400, 429) for r in rows)


def test_5xx_answers_reach_the_audit_trail_aggregated(app):
    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    client = app.test_client()
    assert {client.get("/_test/boom").status_code for _ in range(12)} == {500}
    rows = audit_rows(app, "request.failed")
    assert [(r.details["reason"], r.details["count"], r.status) for r in rows] == [
        ("server_error", 1, 500), ("server_error", 10, 500)]
    assert len(rows[0].details["incident"]) == 12 and "secret" not in str(rows[0].details)


def test_a_new_window_records_the_first_denial_again(app_factory, monkeypatch):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    for _ in range(3):
        client.post("/auth/logout")
    now = errors.time.time()
    monkeypatch.setattr(errors.time, "time", lambda: now + errors.DENIAL_WINDOW_SECONDS)
    client.post("/auth/logout")
    assert [r.details["count"] for r in audit_rows(app, "access.denied")] == [1, 1]


def test_the_security_page_shows_floods_and_incidents(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)

    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("boom")

    anonymous = app.test_client()
    for _ in range(10):
        anonymous.post("/auth/logout")
    anonymous.get("/_test/boom")
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN))
    page = admin.get("/audit/security").get_data(as_text=True)
    # The reasons in words (portal.audit.describe.WORDS), not their codes.
    assert "expired or missing form token: 2" in page and "server error: 1" in page
