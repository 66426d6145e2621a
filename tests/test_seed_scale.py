"""`flask seed scale`: bulk data with realistic shapes and intact chains, on both databases."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import chain as audit_chain
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import chain as license_chain
from portal.licenses import state
from portal.models import (
    AuditEvent,
    ClassMembership,
    Klass,
    License,
    LicenseEvent,
    RequirementCompletion,
    Specialization,
    TransparencyLeaf,
    UpgradeRequest,
    User,
)
from portal.seed import scale
from portal.stats import summary
from tests.support.http import login

STUDENTS, EVENTS = 200, 2000


@pytest.fixture
def scaled(app, runner):
    result = runner.invoke(args=["seed", "scale", "--students", str(STUDENTS),
                                 "--audit-events", str(EVENTS)])
    assert result.exit_code == 0, result.output
    assert "Done in" in result.output and "student000001@scale.test" in result.output
    return result


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_counts_proportional_to_students(app, scaled):
    with app.app_context():
        roles = dict(db.session.execute(sa.select(User.role, sa.func.count()).group_by(User.role)).all())
        assert roles == {"student": STUDENTS, "instructor": STUDENTS // 500 or 1, "admin": 3}
        assert count(Specialization) == 3  # the demo catalogue, made because there was none
        assert count(Klass) == STUDENTS // 50
        assert count(License) == STUDENTS * 3 // 2
        assert count(AuditEvent) == EVENTS
        pending = count(UpgradeRequest, UpgradeRequest.status == "pending")
        assert pending >= STUDENTS // 20  # next-level requests, plus admissions for an admin
        assert count(UpgradeRequest, UpgradeRequest.status == "approved") > 0
        assert count(RequirementCompletion) > 0
        # One shared password hash, made once.
        assert db.session.scalar(sa.select(sa.func.count(sa.distinct(User.password_hash)))) == 1


def test_licenses_have_every_state_valid_history_and_signature(app, scaled):
    with app.app_context():
        statuses = Counter(db.session.scalars(sa.select(License.status)))
        assert set(statuses) == {"active", "suspended", "revoked", "expired"}
        assert statuses["active"] > 0.8 * sum(statuses.values())
        levels = Counter(db.session.scalars(sa.select(License.level)))
        assert levels[1] > levels[2] > levels.get(4, 0)  # skewed to the bottom
        codes = list(db.session.scalars(sa.select(License.code)))
        assert len(set(codes)) == len(codes)
        licenses = db.session.scalars(sa.select(License).order_by(License.id)).all()
        for license in licenses[:: len(licenses) // 40]:
            assert license_chain.verify_history(license).ok, license.code
            assert state.check(license), license.code
            assert license.issued_at <= license.updated_at <= utcnow()
        now = utcnow()
        for license in licenses:
            if license.status == "active" and license.expires_at is not None:
                assert license.expires_at > now
            if license.status == "expired":
                assert license.expires_at < now
        # A holder has at most one license per specialization, and is in a class for it.
        pairs = db.session.execute(sa.select(License.holder_id, License.specialization_id)).all()
        assert len(set(pairs)) == len(pairs)
        taught = set(db.session.execute(
            sa.select(ClassMembership.user_id, Klass.specialization_id).join(Klass)
        ).all())
        assert set(pairs) <= taught
        # Upgrades went through approved requests, one per history row of kind "upgraded".
        assert count(LicenseEvent, LicenseEvent.kind == "upgraded") == count(
            UpgradeRequest, UpgradeRequest.status == "approved")


def test_minimum_ages_and_consent(app, scaled):
    with app.app_context():
        today = utcnow().date()
        rows = db.session.execute(
            sa.select(User, Specialization.min_age)
            .join(License, License.holder_id == User.id)
            .join(Specialization, Specialization.id == License.specialization_id)
        ).all()
        for user, min_age in rows:
            age = user.age_on(today)
            assert age >= min_age
            if age < 18:
                assert user.guardian_consent_at is not None and user.guardian_consent_by_id is not None


def test_audit_chain_is_valid_skewed_and_spans_a_year(app, runner, scaled):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{EVENTS} events" in result.output
    with app.app_context():
        assert audit_chain.verify(db.session).ok
        first, last = db.session.execute(
            sa.select(sa.func.min(AuditEvent.at), sa.func.max(AuditEvent.at))
        ).one()
        assert last - first > timedelta(days=300)
        assert last <= utcnow()
        actions = Counter(db.session.scalars(sa.select(AuditEvent.action)))
        assert actions.most_common(1)[0][0] == "auth.login"
        assert len(actions) >= 10
        actors = Counter(a for a in db.session.scalars(sa.select(AuditEvent.actor_id)) if a)
        busiest, *_rest = sorted(actors.values(), reverse=True)
        assert busiest > 10 * sorted(actors.values())[len(actors) // 2]  # a few heavy users
        outcomes = Counter(db.session.scalars(sa.select(AuditEvent.outcome)))
        assert set(outcomes) == {"success", "failure", "denied"}
        # Weekdays are busier than weekends.
        days = Counter(at.weekday() for at in db.session.scalars(sa.select(AuditEvent.at)))
        assert days[1] > days[6]


def test_scale_accounts_can_log_in_and_pages_work(app, scaled):
    class Student:
        email, password = scale.email("student", 1), scale.PASSWORD

    class Instructor:
        email, password = scale.email("instructor", 1), scale.PASSWORD

    client = app.test_client()
    login(client, Student)
    page = client.get("/dashboard")
    assert page.status_code == 200
    with app.app_context():
        license = db.session.scalar(
            sa.select(License).join(User, User.id == License.holder_id).where(User.email == Student.email)
        )
        assert license is not None
    assert client.get(f"/licenses/{license.id}").status_code == 200
    verify = app.test_client().get(f"/verify/{license.code}")
    assert verify.status_code == 200 and "Signature verified" in verify.get_data(as_text=True)

    teacher = app.test_client()
    login(teacher, Instructor)
    assert teacher.get("/dashboard").status_code == 200


def test_refuses_twice_and_continues_an_existing_chain(app, runner):
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    result = runner.invoke(args=["seed", "scale", "--students", "60", "--audit-events", "300"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(Specialization) == 3  # the demo catalogue was reused
        assert audit_chain.verify(db.session).ok
    again = runner.invoke(args=["seed", "scale", "--students", "60", "--audit-events", "300"])
    assert again.exit_code != 0 and "already has scale data" in again.output
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    # The demo's log goes on with the scale seed's rows: one log, complete and intact.
    logged = runner.invoke(args=["transparency", "verify"])
    assert logged.exit_code == 0, logged.output
    with app.app_context():
        assert count(TransparencyLeaf) == count(LicenseEvent) > 0


def test_the_admin_overview_figures_are_counted_at_the_end(app, runner, scaled):
    # The bulk inserts go around the flush hooks; the seed counts the figures once.
    with app.app_context():
        assert summary.recount(db.session) == {}
        assert summary.kept(db.session)[(summary.USERS, "student", "active")] > 0
    assert runner.invoke(args=["stats", "recount"]).exit_code == 0
