"""`flask seed demo`: the demo academy tells one consistent story, with dates relative to today."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from portal.audit import chain as audit_chain
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.licenses import chain as license_chain
from portal.licenses import rules, state
from portal.models.audit import AuditEvent
from portal.models.catalogue import RequirementCompletion, Specialization
from portal.models.job import Job, JobItem
from portal.models.klass import ClassInvitation, ClassMembership, Klass
from portal.models.license import License, LicenseEvent, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import User
from portal.seed.accounts import DEMO_PASSWORD
from portal.stats import summary
from tests.support.http import login

# Times that may lie ahead: when something ends or is due, not when something happened
# (a notification mail pending a retry has its next attempt ahead).
FUTURE_ALLOWED = {"expires_at", "locked_until", "valid_until", "next_attempt_at"}
LEVEL_RANGE = re.compile(r"Levels? (\d+) to (\d+)", re.I)
LEVEL_FLOOR = re.compile(r"Levels? (\d+) and above", re.I)


def _seed(app, runner):
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    return utcnow()


def test_no_time_lies_in_the_future_and_everything_is_recent(app, runner):
    now = _seed(app, runner)
    with app.app_context():
        checked = 0
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, UTCDateTime) or column.name in FUTURE_ALLOWED:
                    continue
                latest = db.session.scalar(sa.select(sa.func.max(column)))
                checked += 1
                assert latest is None or latest <= now, f"{table.name}.{column.name} is {latest}"
        assert checked > 20
        # Dates are relative to today: the story runs over the last year up to the last days.
        first, last = db.session.execute(
            sa.select(sa.func.min(AuditEvent.at), sa.func.max(AuditEvent.at))).one()
        assert now - timedelta(days=450) < first and now - last < timedelta(days=3)


def test_licenses_are_issued_before_they_expire_and_their_history_runs_forward(app, runner):
    now = _seed(app, runner)
    with app.app_context():
        licenses = db.session.scalars(sa.select(License)).all()
        assert len(licenses) >= 8
        for lic in licenses:
            assert lic.expires_at is None or lic.issued_at <= lic.expires_at, lic.code
            assert lic.issued_at <= lic.updated_at, lic.code
            assert lic.status_changed_at is None or lic.status_changed_at >= lic.issued_at, lic.code
            if lic.status == LicenseStatus.ACTIVE:
                assert lic.expires_at is None or lic.expires_at > now, lic.code
            if lic.status == LicenseStatus.EXPIRED:
                assert lic.expires_at <= now, lic.code
            history = db.session.scalars(
                sa.select(LicenseEvent).where(LicenseEvent.license_id == lic.id).order_by(LicenseEvent.seq)
            ).all()
            assert history[0].kind == "issued" and history[0].at == lic.issued_at, lic.code
            times = [row.at for row in history]
            assert times == sorted(times), f"{lic.code}: history out of time order"
            assert license_chain.verify_history(lic).ok and state.check(lic), lic.code
        # Some licenses grew over months, not in one instant.
        last_change = dict(db.session.execute(
            sa.select(LicenseEvent.license_id, sa.func.max(LicenseEvent.at)).group_by(LicenseEvent.license_id)
        ).all())
        spans = [last_change[lic.id] - lic.issued_at for lic in licenses]
        assert max(spans) > timedelta(days=180)


def test_nobody_acts_before_their_account_exists_and_the_audit_trail_runs_forward(app, runner):
    _seed(app, runner)
    with app.app_context():
        created = dict(db.session.execute(sa.select(User.id, User.created_at)).all())
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        logins = 0
        previous = None
        for event in events:
            assert previous is None or event.at >= previous, f"#{event.seq} is older than the event before"
            previous = event.at
            if event.actor_id is not None:
                assert event.at >= created[event.actor_id], f"#{event.seq} {event.action} before its actor"
            if event.resource_type == "user" and event.resource_id:
                assert event.at >= created[int(event.resource_id)], f"#{event.seq} {event.action}"
            logins += event.action == "auth.login"
        assert logins > 50
        assert audit_chain.verify(db.session).ok
        for user in db.session.scalars(sa.select(User)):
            for moment in (user.updated_at, user.password_changed_at, user.guardian_consent_at):
                assert moment is None or moment >= user.created_at, user.email
        memberships = db.session.execute(sa.select(ClassMembership.user_id, ClassMembership.joined_at))
        for user_id, joined in memberships:
            assert joined >= created[user_id]
        for klass in db.session.scalars(sa.select(Klass)):
            members = db.session.scalars(
                sa.select(ClassMembership.joined_at).where(ClassMembership.class_id == klass.id)).all()
            assert all(joined >= klass.created_at for joined in members), klass.name
        for user_id, confirmed in db.session.execute(
                sa.select(RequirementCompletion.user_id, RequirementCompletion.confirmed_at)):
            assert confirmed >= created[user_id]
        for request in db.session.scalars(sa.select(UpgradeRequest)):
            assert request.created_at >= created[request.user_id]
            assert request.decided_at is None or request.decided_at >= request.created_at
        for lic in db.session.scalars(sa.select(License)):
            assert lic.issued_at >= created[lic.holder_id], lic.code
        for job in db.session.scalars(sa.select(Job)):
            assert job.created_at <= job.started_at <= job.finished_at
            items = db.session.scalars(sa.select(JobItem.at).where(JobItem.job_id == job.id)).all()
            assert all(job.started_at <= at <= job.finished_at for at in items)


def test_classes_that_name_levels_hold_students_at_those_levels(app, runner):
    _seed(app, runner)
    with app.app_context():
        claims = 0
        for klass in db.session.scalars(sa.select(Klass)):
            if match := LEVEL_RANGE.search(klass.description):
                low, high = int(match.group(1)), int(match.group(2))
            elif match := LEVEL_FLOOR.search(klass.description):
                low, high = int(match.group(1)), None
            else:
                continue
            claims += 1
            members = db.session.execute(
                sa.select(User.name, License.level)
                .join(ClassMembership, ClassMembership.user_id == User.id)
                .outerjoin(License, sa.and_(License.holder_id == User.id,
                                            License.specialization_id == klass.specialization_id))
                .where(ClassMembership.class_id == klass.id)
            ).all()
            assert members, klass.name
            for name, level in members:
                level = level or 0
                assert level >= low and (high is None or level <= high), (
                    f"{name} (level {level}) in {klass.name!r}: {klass.description!r}")
        assert claims >= 2


def test_the_demo_shows_a_bulk_upgrade_that_respects_decisions(app, runner):
    """Saturday squad: Liam's request waits, Emma was rejected yesterday, Sofía has a
    requirement open; the preview of an upgrade holds all three, two only with an override."""
    _seed(app, runner)
    with app.app_context():
        klass = db.session.scalar(sa.select(Klass).where(Klass.name.like("%Saturday squad")))
        spec = db.session.get(Specialization, klass.specialization_id)
        ids = db.session.scalars(
            sa.select(ClassMembership.user_id).where(ClassMembership.class_id == klass.id)).all()
        names = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())
        verdicts = {names[sid]: v for sid, v in rules.bulk_verdicts("upgrade", spec, ids).items()}
        assert verdicts["Liam O'Connor"].blockers == (rules.PENDING_REQUEST,)
        assert verdicts["Emma Dubois"].blockers == (rules.RECENTLY_REJECTED,)
        assert verdicts["Sofía Martínez"].blockers == (rules.REQUIREMENTS_MISSING,)
        sofia = db.session.scalar(sa.select(User).where(User.email == "sofia@demo.academy"))
        assert sofia.age_on(utcnow().date()) == 16


def test_the_demo_shows_class_edits_invitations_and_a_report(app, runner, client):
    now = _seed(app, runner)
    with app.app_context():
        edited = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "class.updated"))
        assert edited.details["before"]["name"] == "Player performance — Tuesday evenings"
        klass = db.session.scalar(sa.select(Klass).where(Klass.name.like("%Saturday squad")))
        states = {i.email: i.state(now) for i in db.session.scalars(
            sa.select(ClassInvitation).where(ClassInvitation.class_id == klass.id))}
        assert sorted(states.values()) == ["expired", "joined", "sent", "withdrawn"]
        assert not db.session.scalars(sa.select(Job).where(Job.kind == "class_invitations")).all()
    login(client, Demo("coach.rivera@demo.academy"))
    roster = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    for word in ("sent", "joined", "expired", "withdrawn"):
        assert f"badge-{word}" in roster
    report = client.get(f"/dashboard/classes/{klass.id}/report").get_data(as_text=True)
    assert re.search(r"[1-9]\d* of \d+", report), "the report shows confirmed requirements"


class Demo:
    def __init__(self, email: str):
        self.email, self.password = email, DEMO_PASSWORD


def pending_of(email: str) -> list[UpgradeRequest]:
    return list(db.session.scalars(
        sa.select(UpgradeRequest).join(User, User.id == UpgradeRequest.user_id)
        .where(User.email == email, UpgradeRequest.status == RequestStatus.PENDING)
    ))


def test_the_demo_instructors_are_assigned_and_see_their_queues(app, runner, audit_events):
    _seed(app, runner)
    with app.app_context():
        taught = {
            u.email: [s.code for s in rules.specializations_of(u)]
            for u in db.session.scalars(sa.select(User).where(User.role == "instructor"))
        }
        liam = pending_of("liam@demo.academy")[0]
        emma = pending_of("emma@demo.academy")[0]
        assert emma.from_level == 0 and emma.specialization.code == "INT"
    assert taught == {"coach.rivera@demo.academy": ["PLY"], "coach.okafor@demo.academy": ["COA", "INT"],
                      "priya@demo.academy": []}
    assert len(audit_events("user.specializations_changed")) == 2

    rivera = app.test_client()
    login(rivera, Demo("coach.rivera@demo.academy"))
    assert f'id="request-{liam.id}"' in rivera.get("/licenses/requests/").get_data(as_text=True)
    assert "You teach Player" in rivera.get("/dashboard").get_data(as_text=True)

    # Emma's first Internship level is in Okafor's placement group, but an admin decides it.
    okafor = app.test_client()
    login(okafor, Demo("coach.okafor@demo.academy"))
    assert f'id="request-{emma.id}"' not in okafor.get("/licenses/requests/").get_data(as_text=True)
    admin = app.test_client()
    login(admin, Demo("admin@demo.academy"))
    assert f'id="request-{emma.id}"' in admin.get("/licenses/requests/").get_data(as_text=True)


def test_the_admin_overview_figures_match_a_recount(app, runner):
    # The demo is made through the services (and backdates through the ORM): every figure
    # the admin overview keeps was moved by the change that made it.
    _seed(app, runner)
    with app.app_context():
        assert summary.recount(db.session) == {}
