"""The admin overview's kept figures (portal/stats/summary.py) always equal a full recount:
after any sequence of the changes the services make, refused ones included, and after the
changes made with a Core UPDATE or DELETE. ``stats recount`` finds and corrects drift."""
from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa

from portal import jobs
from portal.admin import services as admin_services
from portal.auth import registration
from portal.auth import services as auth_services
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses import reviews
from portal.licenses import services as license_services
from portal.models import AuditEvent, DashboardCount, Klass, License, UpgradeRequest, User
from portal.models.catalogue import Specialization
from portal.models.user import Role, UserStatus
from portal.privacy import erasure
from portal.stats import summary


def _drift(app) -> dict:
    with app.app_context():
        found = summary.recount(db.session)
        db.session.rollback()
        return found


def _pick(rng, session, query):
    ids = list(session.scalars(query))
    return session.get(query.column_descriptions[0]["entity"], rng.choice(ids)) if ids else None


def _operations(rng, spec_ids, klass_ids, admin_id):  # noqa: C901 - one small step each
    s = db.session

    def admin():
        return s.get(User, admin_id)

    def a_license(*statuses):
        query = sa.select(License.id)
        if statuses:
            query = query.where(License.status.in_(statuses))
        return _pick(rng, s, query.order_by(License.id))

    def a_user(*roles):
        query = sa.select(User.id).where(User.id != admin_id, User.erased_at.is_(None))
        if roles:
            query = query.where(User.role.in_(roles))
        return _pick(rng, s, query.order_by(User.id))

    def new_user():
        auth_services.create_user(
            f"person{rng.randrange(10**9)}@example.test", "Some Person",
            rng.choice([Role.STUDENT, Role.STUDENT, Role.INSTRUCTOR]), password="x" * 12,
            status=rng.choice([UserStatus.ACTIVE, UserStatus.PENDING, UserStatus.SUSPENDED]),
            date_of_birth=date(2000, 1, 1))

    def issue():
        student = a_user(Role.STUDENT)
        if student:
            spec = s.get(Specialization, rng.choice(spec_ids))
            license_services.issue_license(student, spec, rng.randint(1, 3), admin())

    def set_level():
        license = a_license()
        if license:
            license_services.set_level(license, rng.randint(1, 3), admin(), "Correction")

    def suspend():
        if license := a_license():
            license_services.suspend(license, admin(), "Paused")

    def revoke():
        if license := a_license():
            license_services.revoke(license, admin(), "other", "Ended")

    def reinstate():
        if license := a_license("suspended", "revoked"):
            license_services.reinstate(license, admin(), "Back")

    def expire():
        if license := a_license("active"):
            license.expires_at = utcnow() - timedelta(days=1)
            s.flush()
            license_services.expire_due()

    def renew():
        if license := a_license("expired"):
            license_services.renew(license, admin(), "Renewed")

    def request_and_decide():
        license = a_license("active")
        if license is None:
            return
        request = reviews.request_upgrade(license, "Ready", s.get(User, license.holder_id))
        choice = rng.choice(["approve", "reject", "withdraw", "keep"])
        if choice == "approve":
            reviews.approve_request(request, admin(), "Fine")
        elif choice == "reject":
            reviews.reject_request(request, admin(), "Not yet")
        elif choice == "withdraw":
            reviews.withdraw_request(request, s.get(User, license.holder_id))

    def decide_pending():
        request = _pick(rng, s, sa.select(UpgradeRequest.id).where(UpgradeRequest.status == "pending"))
        if request is not None:
            reviews.reject_request(request, admin(), "Not yet")

    def change_role():
        if user := a_user():
            role = rng.choice([r for r in Role.ALL if r != user.role])
            admin_services.change_role(user, role, admin(), "Moved")

    def change_status():
        if user := a_user():
            status = rng.choice([st for st in (UserStatus.ACTIVE, UserStatus.SUSPENDED) if st != user.status])
            admin_services.change_status(user, status, admin(), "Because")

    def confirm():
        user = _pick(rng, s, sa.select(User.id).where(User.email_confirmed_at.is_(None),
                                                      User.status == UserStatus.PENDING))
        if user is not None:
            auth_services.confirm_address(user, via="link")

    def purge():
        registration.purge_unconfirmed(now=utcnow() + timedelta(days=30))

    def erase():
        if user := a_user(Role.STUDENT, Role.INSTRUCTOR):
            erasure.erase(user, admin(), reason="Asked by post")

    def delete_user():  # an account that nothing refers to, removed through the ORM
        user = User(email=f"gone{rng.randrange(10**9)}@example.test", name="Gone", role=Role.STUDENT)
        s.add(user)
        s.flush()
        s.delete(user)

    def bulk():
        klass = s.get(Klass, rng.choice(klass_ids))
        job = admin_services.start_bulk(klass, rng.choice(admin_services.BULK_ACTIONS), False, admin(),
                                        override_reason="Catching up")
        s.commit()
        jobs.run(job.id)

    return [new_user, issue, issue, set_level, suspend, revoke, reinstate, expire, renew,
            request_and_decide, request_and_decide, decide_pending, change_role, change_status,
            confirm, purge, erase, delete_user, bulk]


def test_kept_figures_equal_a_recount_after_any_sequence_of_changes(
        app, make_user, make_specialization, class_of_students):
    admin_id = make_user(Role.ADMIN).id
    classes = [class_of_students(4, max_level=3, requirements_per_level=0) for _ in range(2)]
    spec_ids = [spec.id for _, spec, _ in classes] + [make_specialization(max_level=3).id]
    klass_ids = [klass.id for klass, _, _ in classes]
    for _ in range(3):
        make_user(Role.STUDENT, status=UserStatus.PENDING)
    assert _drift(app) == {}
    rng = random.Random(25)
    done: dict[str, int] = {}
    for step in range(160):
        with app.app_context():
            operation = rng.choice(_operations(rng, spec_ids, klass_ids, admin_id))
            try:
                operation()
                db.session.commit()
                done[operation.__name__] = done.get(operation.__name__, 0) + 1
            except PortalError:
                db.session.rollback()  # refused: nothing it counted may stay
        if step % 20 == 19:
            assert _drift(app) == {}, f"after step {step} ({operation.__name__})"
    assert _drift(app) == {}
    # The sequence really exercised the changes (not only refusals).
    exercised = {"issue", "suspend", "revoke", "change_role", "erase", "bulk", "request_and_decide"}
    assert exercised <= set(done), done
    with app.app_context():
        kept = summary.kept(db.session)
        admins = sa.select(sa.func.count(User.id)).where(User.role == Role.ADMIN,
                                                         User.status == UserStatus.ACTIVE)
        assert kept[(summary.USERS, Role.ADMIN, UserStatus.ACTIVE)] == db.session.scalar(admins)
        assert sum(n for (kind, _, _), n in kept.items() if kind == summary.ISSUED) == db.session.scalar(
            sa.select(sa.func.count(License.id)))


def test_the_command_reports_and_corrects_drift(app, make_user, make_specialization, make_license):
    student = make_user(Role.STUDENT)
    make_license(student, make_specialization(), 2)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["stats", "recount"])
    assert result.exit_code == 0 and "Every kept figure matches" in result.output
    with app.app_context():
        db.session.execute(sa.update(DashboardCount).where(DashboardCount.kind == summary.USERS)
                           .values(n=DashboardCount.n + 5))
        db.session.execute(sa.delete(DashboardCount).where(DashboardCount.kind == summary.PENDING))
        db.session.add(DashboardCount(kind=summary.LICENSES, key_a="999", key_b="1", n=3))
        db.session.commit()
    result = runner.invoke(args=["stats", "recount"])
    assert result.exit_code == 1
    assert "licenses 999 1: kept 3, counted 0" in result.output
    assert "users student active: kept 6, counted 1" in result.output
    result = runner.invoke(args=["stats", "recount", "--fix"])
    assert result.exit_code == 0 and "(corrected)" in result.output
    assert _drift(app) == {}
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stats.recounted"))
        assert event is not None and event.details["cells"] >= 2
    result = runner.invoke(args=["stats", "recount"])
    assert result.exit_code == 0
