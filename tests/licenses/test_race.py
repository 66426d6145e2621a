"""Concurrent decisions on one request: exactly one level change, under real threads.

Each thread has its own app context, session and database connection, and all
start together at a barrier. Runs on SQLite and PostgreSQL like the rest.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.admin import services as admin_services
from portal.exceptions import NotYours
from portal.extensions import db
from portal.licenses import chain, reviews, rules, services, state
from portal.licenses.services import RequestConflict
from portal.models import License, LicenseStatus, RequestStatus, UpgradeRequest, User
from portal.models.user import Role
from tests.support.lookups import get, history
from tests.support.polling import wait_until

THREADS = 8


def _race(app, work):
    """Run ``work(i)`` in THREADS threads at once; returns the outcomes in order."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[object] = [None] * THREADS

    def run(i):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                work(i)
                db.session.commit()
                outcomes[i] = "ok"
            except RequestConflict as exc:
                db.session.rollback()
                outcomes[i] = exc
            except Exception as exc:  # noqa: BLE001  - reported by the test below
                db.session.rollback()
                outcomes[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


@pytest.fixture
def pending(app, make_user, make_specialization, make_license, make_request):
    admins = [make_user(Role.ADMIN) for _ in range(THREADS)]
    student = make_user()
    spec = make_specialization(max_level=5)
    lic = make_license(student, spec, level=2)
    req = make_request(lic)
    return admins, student, lic, req


def test_eight_simultaneous_approvals_give_exactly_one_level_change(app, pending, audit_events):
    admins, _student, lic, req = pending
    with app.app_context():
        mark = audit_events.mark()

    def approve(i):
        request = db.session.get(UpgradeRequest, req.id)
        reviews.approve_request(request, db.session.get(User, admins[i].id), note=f"approver {i}")

    outcomes = _race(app, approve)
    winners = [o for o in outcomes if o == "ok"]
    conflicts = [o for o in outcomes if isinstance(o, RequestConflict)]
    assert len(winners) == 1, outcomes
    assert len(conflicts) == THREADS - 1, outcomes
    with app.app_context():
        license = get(License, lic)
        assert license.level == 3
        assert [r.kind for r in history(lic.id)] == ["issued", "upgraded"]
        assert chain.verify_history(license).ok and state.check(license)
        assert get(UpgradeRequest, req).status == RequestStatus.APPROVED
        assert audit_events.actions(since=mark) == ["license.upgrade_approved"]


def test_approvals_racing_a_withdrawal_give_at_most_one_change(app, pending):
    admins, student, lic, req = pending

    def decide(i):
        request = db.session.get(UpgradeRequest, req.id)
        if i == 0:
            reviews.withdraw_request(request, db.session.get(User, student.id))
        else:
            reviews.approve_request(request, db.session.get(User, admins[i].id), note="go")

    outcomes = _race(app, decide)
    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or isinstance(o, RequestConflict) for o in outcomes), outcomes
    with app.app_context():
        request = get(UpgradeRequest, req)
        license = get(License, lic)
        if outcomes[0] == "ok":
            assert request.status == RequestStatus.WITHDRAWN and license.level == 2
            assert len(history(lic.id)) == 1
        else:
            assert request.status == RequestStatus.APPROVED and license.level == 3
            assert len(history(lic.id)) == 2
        assert chain.verify_history(license).ok and state.check(license)


def test_simultaneous_requests_leave_exactly_one_pending(app, make_user, make_specialization, make_license):
    student = make_user()
    lic = make_license(student, make_specialization(max_level=5))

    def ask(i):
        reviews.request_upgrade(
            db.session.get(License, lic.id), f"reason {i}", db.session.get(User, student.id)
        )

    outcomes = _race(app, ask)
    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or isinstance(o, services.LicenseError) for o in outcomes), outcomes
    with app.app_context():
        pending = db.session.scalar(
            sa.select(sa.func.count(UpgradeRequest.id)).where(UpgradeRequest.status == RequestStatus.PENDING)
        )
        assert pending == 1
        assert get(License, lic).status == LicenseStatus.ACTIVE


# -- an admin takes the specialization away while its instructor decides -------------------


def _waits_for_a_lock(app, pid: int | None) -> bool:
    """Whether the PostgreSQL backend ``pid`` is waiting for a lock."""
    if pid is None:
        return False
    with app.app_context():
        return db.session.scalar(
            sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ) == "Lock"


def test_a_removed_specialization_never_lets_a_decision_commit_after_the_removal(
    app, make_user, make_specialization, make_license, make_request, make_class, join, audit_events,
    monkeypatch,
):
    """The instructor's approval has passed its check and waits, inside its transaction;
    the admin removes the specialization meanwhile. Either the removal waits for the
    decision (the row it checked is held FOR SHARE) or the decision is refused: never an
    approval committed after the removal. SQLite serialises writers at BEGIN IMMEDIATE,
    so there the removal cannot even start its transaction until the decision ends."""
    teacher, admin, student = make_user(Role.INSTRUCTOR), make_user(Role.ADMIN), make_user()
    spec = make_specialization(max_level=5)
    join(student, make_class(teacher, spec))
    lic = make_license(student, spec, level=2, actor=admin)
    req = make_request(lic)
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")

    checked, release, removal_started = threading.Event(), threading.Event(), threading.Event()
    original = rules.teaches

    def held(instructor, who, specialization_id=None, *, lock=False):
        found = original(instructor, who, specialization_id, lock=lock)
        if lock:  # the decision's own check: stop here, inside its transaction
            checked.set()
            assert release.wait(timeout=120)
        return found

    monkeypatch.setattr(rules, "teaches", held)
    outcome: dict[str, object] = {}
    removal_pid: dict[str, int] = {}

    def decide():
        with app.app_context():
            try:
                request = db.session.get(UpgradeRequest, req.id)
                reviews.approve_request(request, db.session.get(User, teacher.id), note="Seen in class")
                db.session.commit()
                outcome["decision"] = "approved"
            except Exception as exc:  # noqa: BLE001 - reported by the asserts below
                db.session.rollback()
                outcome["decision"] = exc
            finally:
                db.session.remove()

    def remove():
        with app.app_context():
            try:
                if postgres:
                    removal_pid["pid"] = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
                removal_started.set()
                admin_services.set_specializations(
                    db.session.get(User, teacher.id), [], db.session.get(User, admin.id)
                )
                db.session.commit()
                outcome["removal"] = "committed"
            except Exception as exc:  # noqa: BLE001 - reported by the asserts below
                db.session.rollback()
                outcome["removal"] = exc
            finally:
                db.session.remove()

    decider = threading.Thread(target=decide)
    decider.start()
    assert checked.wait(timeout=60), outcome
    remover = threading.Thread(target=remove)
    remover.start()
    assert removal_started.wait(timeout=60), outcome
    if postgres:
        # Let the decision go on once the removal has committed, or is waiting for it.
        assert wait_until(lambda: not remover.is_alive() or _waits_for_a_lock(app, removal_pid.get("pid")))
    release.set()
    for thread in (decider, remover):
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread hung"

    assert outcome["removal"] == "committed", outcome
    with app.app_context():
        removed = audit_events("user.specializations_changed")[-1]
        approved = audit_events("license.upgrade_approved")
        request = get(UpgradeRequest, req)
        if outcome["decision"] == "approved":
            # The chain's order is the commit order: each holds the chain's lock to its commit.
            assert len(approved) == 1 and approved[0].seq < removed.seq, (approved, removed)
            assert get(License, lic).level == 3 and request.status == RequestStatus.APPROVED
        else:
            assert isinstance(outcome["decision"], NotYours), outcome
            assert not approved and get(License, lic).level == 2 and request.status == RequestStatus.PENDING
