"""Races against a real multi-process server (gunicorn, 4 workers) on this run's database.

Many clients fire the same request at the same moment (released together by a
barrier). The invariants hold: one level change, one account, one membership, one
pending request, an intact audit chain; and no answer is a 5xx, and the server log
has no "database is locked" and no traceback.
"""
from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.licenses import chain as license_chain
from portal.models.klass import ClassMembership
from portal.models.license import License, LicenseEvent, RequestStatus, UpgradeRequest
from portal.models.user import Role, User
from tests.support.live import (
    PRELOAD,
    HttpClient,
    assert_chain_intact,
    assert_server_healthy,
    sessions_for,
    together,
)

# Every race runs against gunicorn.
pytestmark = pytest.mark.slow

WORKERS = 4


def test_twenty_simultaneous_approvals(app, live_server, make_user, make_specialization, make_license,
                                       make_request, audit_events):
    admin = make_user(Role.ADMIN)
    holder = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization(max_level=3))
    request = make_request(license)
    server = live_server(workers=WORKERS, GUNICORN_CMD_ARGS=PRELOAD)
    admins = sessions_for(server, admin, 20)
    for c in admins:
        c.get("/licenses/requests/")
    replies = together([
        lambda c=c: c.post(f"/licenses/requests/{request.id}/approve", {"note": "Well done"})
        for c in admins
    ])
    assert_server_healthy(server, replies)
    statuses = Counter(r.status for r in replies)
    assert statuses[303] + statuses[302] >= 1
    # Everyone else is told it was already decided (409), or sent back to the queue.
    assert set(statuses) <= {302, 303, 409}, statuses
    with app.app_context():
        lic = db.session.get(License, license.id)
        assert lic.level == 2
        history = db.session.scalars(
            sa.select(LicenseEvent).where(LicenseEvent.license_id == license.id)
        ).all()
        assert [h.kind for h in history].count("upgraded") == 1 and len(history) == 2
        approved = len(audit_events("license.upgrade_approved"))
        assert approved == 1
        assert db.session.get(UpgradeRequest, request.id).status == RequestStatus.APPROVED
        assert license_chain.verify_history(lic).ok
    assert_chain_intact(app)


def test_simultaneous_registrations_with_one_email(app, live_server, audit_events):
    server = live_server(workers=WORKERS, GUNICORN_CMD_ARGS=PRELOAD)
    visitors = [HttpClient(server.url) for _ in range(12)]
    for v in visitors:
        v.get("/auth/register")
    email = "same.person@example.org"
    form = {"name": "Same Person", "email": email, "password": "a long unusual passphrase 42",
            "confirm_password": "a long unusual passphrase 42", "date_of_birth": "2001-02-03"}
    replies = together([lambda v=v: v.post("/auth/register", form) for v in visitors])
    assert_server_healthy(server, replies)
    # Everyone gets the same answer (SPEC §2); one account, the others a notice.
    assert {r.status for r in replies} == {200}
    assert all("Check your inbox" in r.body for r in replies)
    with app.app_context():
        users = db.session.scalars(sa.select(User).where(sa.func.lower(User.email) == email)).all()
        assert len(users) == 1
        registered = len(audit_events("user.registered"))
        assert registered == 1
        assert len(audit_events("user.registration_repeated")) == len(visitors) - 1
    assert_chain_intact(app)


def test_simultaneous_joins_of_one_class(app, live_server, make_user, make_specialization, make_class,
                                         audit_events):
    instructor = make_user(Role.INSTRUCTOR)
    klass = make_class(instructor, make_specialization())
    student = make_user(Role.STUDENT)
    server = live_server(workers=WORKERS, GUNICORN_CMD_ARGS=PRELOAD)
    tabs = sessions_for(server, student, 12)
    for t in tabs:
        t.get("/dashboard/join")
    replies = together([lambda t=t: t.post("/dashboard/join", {"join_code": klass.join_code}) for t in tabs])
    assert_server_healthy(server, replies)
    assert {r.status for r in replies} <= {200, 302, 303, 409, 422}
    with app.app_context():
        memberships = db.session.scalar(sa.select(sa.func.count()).where(
            ClassMembership.class_id == klass.id, ClassMembership.user_id == student.id))
        assert memberships == 1
        joined = len(audit_events("class.joined"))
        assert joined == 1
    assert_chain_intact(app)


def test_simultaneous_upgrade_requests(app, live_server, make_user, make_specialization, make_license,
                                       audit_events):
    holder = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization(max_level=3))
    server = live_server(workers=WORKERS, GUNICORN_CMD_ARGS=PRELOAD)
    tabs = sessions_for(server, holder, 12)
    for t in tabs:
        t.get(f"/licenses/{license.id}/upgrade")
    replies = together([
        lambda t=t: t.post(f"/licenses/{license.id}/upgrade", {"reason": "I met every requirement."})
        for t in tabs
    ])
    assert_server_healthy(server, replies)
    statuses = Counter(r.status for r in replies)
    assert statuses[302] + statuses[303] == 1, statuses
    with app.app_context():
        pending = db.session.scalar(sa.select(sa.func.count()).where(
            UpgradeRequest.license_id == license.id, UpgradeRequest.status == RequestStatus.PENDING))
        assert pending == 1
        requested = len(audit_events("license.upgrade_requested"))
        assert requested == 1
    assert_chain_intact(app)


def test_simultaneous_audit_writes_from_all_workers(app, live_server, make_user, make_specialization,
                                                    make_license, audit_events):
    """Failed logins, certificate downloads and denials at once: every one is recorded, in one chain."""
    holder = make_user(Role.STUDENT)
    stranger = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization())
    server = live_server(workers=WORKERS, GUNICORN_CMD_ARGS=PRELOAD)
    owners = sessions_for(server, holder, 8)
    strangers = sessions_for(server, stranger, 8)
    anonymous = [HttpClient(server.url) for _ in range(16)]
    for a in anonymous:
        a.get("/auth/login")
    before = Counter(audit_events.actions())
    calls = (
        [lambda c=c: c.get(f"/licenses/{license.id}/certificate.pdf") for c in owners]
        + [lambda c=c: c.get(f"/licenses/{license.id}") for c in strangers]
        + [lambda a=a, i=i: a.post("/auth/login", {"email": f"ghost{i}@example.org", "password": "wrong!"})
           for i, a in enumerate(anonymous)]
    )
    replies = together(calls)
    assert_server_healthy(server, replies)
    assert [r.status for r in replies[:8]] == [200] * 8
    assert [r.status for r in replies[8:16]] == [404] * 8
    assert all(r.status in (401, 422) for r in replies[16:])
    after = Counter(audit_events.actions())
    new = after - before
    assert new["license.certificate_downloaded"] == 8
    # Eight denials of one user from one IP are aggregated (portal.errors): one event per
    # worker at most, as each worker counts alone without Redis.
    assert 1 <= new["access.denied"] <= WORKERS
    assert new["auth.login_failed"] == 16
    result = assert_chain_intact(app)
    assert result.count == sum(after.values())


def test_an_admin_removes_a_specialization_while_its_instructor_approves(
        app, live_server, make_user, make_specialization, make_license, make_request, make_class, join,
        audit_events):
    """Twelve approvals by the instructor and the admin's removal of the specialization, at
    once: each approval either committed before the removal (303) or is refused (404);
    none is committed after it."""
    instructor, admin = make_user(Role.INSTRUCTOR), make_user(Role.ADMIN)
    spec = make_specialization(max_level=3)
    klass = make_class(instructor, spec)
    requests = []
    for _ in range(12):
        student = make_user(Role.STUDENT)
        join(student, klass)
        requests.append(make_request(make_license(student, spec, actor=admin)))
    server = live_server(workers=WORKERS, GUNICORN_CMD_ARGS=PRELOAD)
    tabs = sessions_for(server, instructor, len(requests))
    for t in tabs:
        t.get("/licenses/requests/")
    desk = sessions_for(server, admin, 1)[0]
    desk.get(f"/admin/users/{instructor.id}")
    replies = together(
        [lambda t=t, r=r: t.post(f"/licenses/requests/{r.id}/approve", {"note": "Seen in class"})
         for t, r in zip(tabs, requests, strict=True)]
        + [lambda: desk.post(f"/admin/users/{instructor.id}/specializations", {})]
    )
    assert_server_healthy(server, replies)
    *approvals, removal = replies
    assert removal.status == 303, removal.body[:300]
    assert {r.status for r in approvals} <= {303, 404}, [r.status for r in approvals]
    with app.app_context():
        removed = audit_events("user.specializations_changed")[-1]
        assert removed.details["removed"] == [spec.code]
        approved = audit_events("license.upgrade_approved")
        assert len(approved) == sum(r.status == 303 for r in approvals)
        assert all(event.seq < removed.seq for event in approved), [e.seq for e in approved]
        for reply, request in zip(approvals, requests, strict=True):
            status = db.session.get(UpgradeRequest, request.id).status
            assert status == (RequestStatus.APPROVED if reply.status == 303 else RequestStatus.PENDING)
    assert_chain_intact(app)


@pytest.fixture(autouse=True)
def _no_rate_limits(monkeypatch):
    """The live server runs without rate limits (the test's many logins come from one address)."""
    monkeypatch.setenv("PORTAL_RATELIMIT_ENABLED", "0")
