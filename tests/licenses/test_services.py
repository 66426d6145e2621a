"""License services: every state and transition, with their audit events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.db import utcnow
from portal.exceptions import NotYours
from portal.extensions import db
from portal.licenses import chain, reviews, rules, services, state
from portal.licenses.services import LicenseError, RequestConflict
from portal.models import (
    ClassMembership,
    Klass,
    License,
    LicenseStatus,
    RequestStatus,
    RequirementCompletion,
    Specialization,
    UpgradeRequest,
    User,
)
from portal.models.user import Role
from tests.support.factories.classes import assigned_row
from tests.support.lookups import get, history


def sixteen_years_ago() -> date:
    today = date.today()
    return date(today.year - 16, 1, 1)


def confirm_all(user_id: int, spec_id: int, level: int, by_id: int | None = None):
    for requirement, completion in rules.requirements_status(
        db.session.get(User, user_id), db.session.get(Specialization, spec_id), level
    ):
        if completion is None:
            db.session.add(
                RequirementCompletion(user_id=user_id, requirement_id=requirement.id, confirmed_by_id=by_id)
            )


def put_in_class(instructor_id: int, student_id: int, spec_id: int) -> None:
    """The student in a class of the instructor, who teaches its specialization."""
    assigned_row(instructor_id, spec_id)
    klass = Klass(
        name="Tuesday group",
        specialization_id=spec_id,
        instructor_id=instructor_id,
        join_code=f"J{instructor_id}X{student_id}S{spec_id}",
    )
    db.session.add(klass)
    db.session.flush()
    db.session.add(ClassMembership(class_id=klass.id, user_id=student_id))


# --- starting a specialization ------------------------------------------------------


def test_selecting_a_specialization_issues_a_signed_level_1_license(app, make_user, make_specialization,
                                                                    audit_events):
    student = make_user()
    spec = make_specialization(validity_months=24)
    with app.app_context():
        mark = audit_events.mark()
        result = services.select_specialization(
            get(User, student), get(Specialization, spec), get(User, student)
        )
        db.session.commit()
        license = result.license
        assert result.request is None and "ready" in result.message
        assert license.level == 1 and license.status == LicenseStatus.ACTIVE
        assert license.code.startswith(spec.code + "-")
        assert license.expires_at.date() > (utcnow() + timedelta(days=700)).date()
        assert state.check(license)
        rows = history(license.id)
        assert [r.kind for r in rows] == ["issued"] and license.head_hash == rows[0].hash
        assert chain.verify_history(license).ok
        assert audit_events.actions(since=mark) == [actions.LICENSE_ISSUED, actions.SPECIALIZATION_SELECTED]
        assert audit_events(actions.SPECIALIZATION_SELECTED)[-1].details["result"] == "issued"


def test_a_specialization_without_auto_issue_creates_a_pending_request(app, make_user, make_specialization,
                                                                       audit_events):
    student = make_user()
    spec = make_specialization(auto_issue=False)
    with app.app_context():
        mark = audit_events.mark()
        result = services.select_specialization(
            get(User, student), get(Specialization, spec), get(User, student)
        )
        db.session.commit()
        assert result.license is None
        assert result.request.status == RequestStatus.PENDING
        assert (result.request.from_level, result.request.to_level) == (0, 1)
        assert "admin" in result.message
        assert audit_events.actions(since=mark) == [
            actions.SPECIALIZATION_SELECTED, actions.LICENSE_UPGRADE_REQUESTED]
        assert db.session.scalar(sa.select(sa.func.count(License.id))) == 0


def test_a_minor_without_consent_waits_and_an_admin_approves_after_consent(
    app, make_user, make_specialization, audit_events
):
    minor = make_user(date_of_birth=sixteen_years_ago())
    admin = make_user(Role.ADMIN)
    spec = make_specialization()
    with app.app_context():
        result = services.select_specialization(get(User, minor), get(Specialization, spec), get(User, minor))
        db.session.commit()
        assert result.license is None and "guardian" in result.message
        request = result.request
        confirm_all(minor.id, spec.id, 1)
        with pytest.raises(LicenseError, match="consent"):
            reviews.approve_request(request, get(User, admin))
        db.session.rollback()

        mark = audit_events.mark()
        services.record_guardian_consent(get(User, minor), get(User, admin), "Ana Martínez")
        db.session.commit()
        assert audit_events.actions(since=mark) == [actions.USER_CONSENT_RECORDED]
        assert get(User, minor).guardian_consent_at is not None
        assert get(User, minor).guardian_name == "Ana Martínez"

        confirm_all(minor.id, spec.id, 1)
        license = reviews.approve_request(db.session.get(UpgradeRequest, request.id), get(User, admin))
        db.session.commit()
        assert license.level == 1 and license.holder_id == minor.id
        assert db.session.get(UpgradeRequest, request.id).license_id == license.id


def test_a_minor_with_consent_gets_a_license_at_once(app, make_user, make_specialization, make_class, join):
    minor = make_user(date_of_birth=sixteen_years_ago())
    instructor = make_user(Role.INSTRUCTOR)
    spec = make_specialization()
    join(minor, make_class(instructor, spec))  # an instructor of one of the minor's classes records it
    with app.app_context():
        services.record_guardian_consent(get(User, minor), get(User, instructor), "A. Guardian")
        result = services.select_specialization(get(User, minor), get(Specialization, spec), get(User, minor))
        db.session.commit()
        assert result.license is not None


def test_consent_needs_staff_and_a_name(app, make_user):
    minor = make_user(date_of_birth=sixteen_years_ago())
    other = make_user()
    admin = make_user(Role.ADMIN)
    with app.app_context():
        with pytest.raises(NotYours):
            services.record_guardian_consent(get(User, minor), get(User, other), "Someone")
        with pytest.raises(LicenseError, match="name"):
            services.record_guardian_consent(get(User, minor), get(User, admin), "  ")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("too_young", "age of 18"),
        ("archived", "no longer"),
        ("twice", "already hold"),
        ("pending", "pending request"),
        ("instructor", "Only students"),
    ],
)
def test_selection_refusals(app, make_user, make_specialization, case, message, audit_events):
    student = make_user(
        Role.INSTRUCTOR if case == "instructor" else Role.STUDENT,
        date_of_birth=sixteen_years_ago() if case == "too_young" else date(1990, 1, 1),
    )
    spec = make_specialization(min_age=18 if case == "too_young" else 0, auto_issue=case != "pending")
    with app.app_context():
        s, user = get(Specialization, spec), get(User, student)
        if case == "archived":
            s.archived_at = utcnow()
        if case in ("twice", "pending"):
            services.select_specialization(user, s, user)
        db.session.commit()
        mark = audit_events.mark()
        with pytest.raises(LicenseError, match=message):
            services.select_specialization(user, s, user)
        assert audit_events.actions(since=mark) == []


# --- upgrade requests ----------------------------------------------------------------


def test_request_upgrade_rules(app, make_user, make_specialization, make_license, audit_events):
    student = make_user()
    spec = make_specialization(max_level=2)
    lic = make_license(student, spec, level=1)
    with app.app_context():
        license = get(License, lic)
        with pytest.raises(LicenseError, match="why"):
            reviews.request_upgrade(license, "   ", get(User, student))
        mark = audit_events.mark()
        request = reviews.request_upgrade(license, "Finished all drills", get(User, student))
        db.session.commit()
        assert (request.from_level, request.to_level, request.status) == (1, 2, RequestStatus.PENDING)
        assert audit_events.actions(since=mark) == [actions.LICENSE_UPGRADE_REQUESTED]
        with pytest.raises(LicenseError, match="pending"):
            reviews.request_upgrade(get(License, lic), "again", get(User, student))


def test_the_database_refuses_a_second_pending_request(app, make_user, make_specialization, make_license):
    student = make_user()
    spec = make_specialization()
    lic = make_license(student, spec)
    with app.app_context():
        db.session.add(
            UpgradeRequest(
                user_id=student.id,
                specialization_id=spec.id,
                license_id=lic.id,
                from_level=1,
                to_level=2,
                reason="sneaked in",
            )
        )
        db.session.commit()
        # The service's own check is bypassed by calling the private helper directly.
        with pytest.raises(LicenseError, match="pending"):
            services.new_request(get(User, student), get(Specialization, spec), get(License, lic), 2, "x")


def test_no_upgrade_at_the_top_level_or_when_not_active(app, make_user, make_specialization, make_license):
    spec = make_specialization(max_level=2)
    top = make_license(make_user(), spec, level=2)
    suspended = make_license(make_user(), spec, level=1, actor=make_user(Role.ADMIN), status="suspended")
    with app.app_context():
        with pytest.raises(LicenseError, match="highest"):
            reviews.request_upgrade(get(License, top), "more", get(User, get(License, top).holder))
        with pytest.raises(LicenseError, match="active"):
            reviews.request_upgrade(get(License, suspended), "more", None)


def test_approve_raises_the_level_records_history_and_re_signs(
    app, make_user, make_specialization, make_license, make_request, audit_events
):
    student, admin = make_user(), make_user(Role.ADMIN)
    spec = make_specialization()
    lic = make_license(student, spec)
    req = make_request(lic)
    with app.app_context():
        confirm_all(student.id, spec.id, 2)
        db.session.commit()
        before = get(License, lic)
        old_signature, old_head, old_version = before.signature, before.head_hash, before.version
        mark = audit_events.mark()
        license = reviews.approve_request(get(UpgradeRequest, req), get(User, admin))
        db.session.commit()
        assert license.level == 2 and license.version == old_version + 1
        assert license.signature != old_signature and license.head_hash != old_head
        assert state.check(license) and chain.verify_history(license).ok
        assert [r.kind for r in history(lic.id)] == ["issued", "upgraded"]
        request = get(UpgradeRequest, req)
        assert request.status == RequestStatus.APPROVED and request.decided_by_id == admin.id
        assert audit_events.actions(since=mark) == [actions.LICENSE_UPGRADE_APPROVED]
        assert audit_events(actions.LICENSE_UPGRADE_APPROVED)[-1].details["requirements_missing"] is False
        with pytest.raises(RequestConflict, match="already approved"):
            reviews.approve_request(get(UpgradeRequest, req), get(User, admin))


def test_approving_with_missing_requirements_needs_a_note(
    app, make_user, make_specialization, make_license, make_request, audit_events
):
    student, admin = make_user(), make_user(Role.ADMIN)
    spec = make_specialization()
    req = make_request(make_license(student, spec))
    with app.app_context():
        with pytest.raises(LicenseError, match="note"):
            reviews.approve_request(get(UpgradeRequest, req), get(User, admin))
        db.session.rollback()
        license = reviews.approve_request(
            get(UpgradeRequest, req), get(User, admin), note="Assessed in person"
        )
        db.session.commit()
        assert license.level == 2
        assert history(license.id)[-1].note == "Assessed in person"
        assert audit_events(actions.LICENSE_UPGRADE_APPROVED)[-1].details["requirements_missing"] is True


def test_an_instructor_decides_only_for_students_in_their_classes(
    app, make_user, make_specialization, make_license, make_request
):
    student, teacher, stranger = make_user(), make_user(Role.INSTRUCTOR), make_user(Role.INSTRUCTOR)
    spec, other_spec = make_specialization(), make_specialization()
    req = make_request(make_license(student, spec))
    with app.app_context():
        put_in_class(teacher.id, student.id, spec.id)
        put_in_class(stranger.id, student.id, other_spec.id)  # a class, but another specialization
        confirm_all(student.id, spec.id, 2, teacher.id)
        db.session.commit()
        with pytest.raises(NotYours):
            reviews.approve_request(get(UpgradeRequest, req), get(User, stranger))
        with pytest.raises(NotYours):
            reviews.reject_request(get(UpgradeRequest, req), get(User, stranger), "no")
        assert get(UpgradeRequest, req).status == RequestStatus.PENDING
        license = reviews.approve_request(get(UpgradeRequest, req), get(User, teacher))
        db.session.commit()
        assert license.level == 2


def test_reject_needs_a_note_and_changes_no_level(
    app, make_user, make_specialization, make_license, make_request, audit_events
):
    student, admin = make_user(), make_user(Role.ADMIN)
    spec = make_specialization()
    lic = make_license(student, spec)
    req = make_request(lic)
    with app.app_context():
        with pytest.raises(LicenseError, match="why"):
            reviews.reject_request(get(UpgradeRequest, req), get(User, admin), " ")
        mark = audit_events.mark()
        reviews.reject_request(get(UpgradeRequest, req), get(User, admin), "Needs more match time")
        db.session.commit()
        request = get(UpgradeRequest, req)
        assert request.status == RequestStatus.REJECTED and request.decision_note == "Needs more match time"
        assert get(License, lic).level == 1 and len(history(lic.id)) == 1
        assert audit_events.actions(since=mark) == [actions.LICENSE_UPGRADE_REJECTED]
        with pytest.raises(RequestConflict):
            reviews.approve_request(get(UpgradeRequest, req), get(User, admin), note="x")


def test_withdraw_is_for_the_student_and_beats_a_later_approval(
    app, make_user, make_specialization, make_license, make_request, audit_events
):
    student, admin = make_user(), make_user(Role.ADMIN)
    spec = make_specialization()
    req = make_request(make_license(student, spec))
    with app.app_context():
        with pytest.raises(NotYours):
            reviews.withdraw_request(get(UpgradeRequest, req), get(User, admin))
        mark = audit_events.mark()
        reviews.withdraw_request(get(UpgradeRequest, req), get(User, student))
        db.session.commit()
        assert get(UpgradeRequest, req).status == RequestStatus.WITHDRAWN
        assert audit_events.actions(since=mark) == [actions.LICENSE_UPGRADE_WITHDRAWN]
        with pytest.raises(RequestConflict, match="withdrawn"):
            reviews.approve_request(get(UpgradeRequest, req), get(User, admin), note="x")
        with pytest.raises(RequestConflict):
            reviews.withdraw_request(get(UpgradeRequest, req), get(User, student))


def test_a_stale_decision_loses_to_one_already_committed(
    app, make_user, make_specialization, make_license, make_request
):
    """The conditional UPDATE refuses even when the loaded object still says pending."""
    student, admin = make_user(), make_user(Role.ADMIN)
    spec = make_specialization()
    req = make_request(make_license(student, spec))
    with app.app_context():
        stale = get(UpgradeRequest, req)
        assert stale.status == RequestStatus.PENDING
        db.session.execute(
            sa.update(UpgradeRequest)
            .where(UpgradeRequest.id == req.id)
            .values(status=RequestStatus.WITHDRAWN)
        )
        with pytest.raises(RequestConflict, match="withdrawn"):
            services.decide_request(stale, RequestStatus.APPROVED, get(User, admin), "late")


# --- admin actions ---------------------------------------------------------------------


def test_suspend_reinstate_revoke_reinstate(app, make_user, make_specialization, make_license, audit_events):
    admin = make_user(Role.ADMIN)
    lic = make_license(make_user(), make_specialization())
    with app.app_context():
        a = get(User, admin)
        mark = audit_events.mark()
        with pytest.raises(LicenseError, match="reason"):
            services.suspend(get(License, lic), a, "")
        services.suspend(get(License, lic), a, "Unpaid fees")
        db.session.commit()
        license = get(License, lic)
        assert license.status == LicenseStatus.SUSPENDED and license.status_note == "Unpaid fees"
        assert state.check(license)
        with pytest.raises(LicenseError, match="active"):
            services.suspend(license, a, "again")
        with pytest.raises(LicenseError, match="renewed|reinstate"):
            services.renew(license, a)
        services.reinstate(license, a, "Fees paid")
        db.session.commit()
        assert get(License, lic).status == LicenseStatus.ACTIVE
        with pytest.raises(LicenseError, match="reason"):
            services.revoke(get(License, lic), a, "bogus", "note")
        with pytest.raises(LicenseError, match="note"):
            services.revoke(get(License, lic), a, "fraud", "")
        services.revoke(get(License, lic), a, "fraud", "Forged assessment")
        db.session.commit()
        license = get(License, lic)
        assert (license.status, license.status_reason) == (LicenseStatus.REVOKED, "fraud")
        with pytest.raises(LicenseError, match="already revoked"):
            services.revoke(license, a, "other", "again")
        services.reinstate(license, a)
        db.session.commit()
        assert [r.kind for r in history(lic.id)] == [
            "issued",
            "suspended",
            "reinstated",
            "revoked",
            "reinstated",
        ]
        assert history(lic.id)[3].reason == "fraud"
        assert chain.verify_history(get(License, lic)).ok and state.check(get(License, lic))
        assert audit_events.actions(since=mark) == [
            actions.LICENSE_SUSPENDED,
            actions.LICENSE_REINSTATED,
            actions.LICENSE_REVOKED,
            actions.LICENSE_REINSTATED,
        ]
        with pytest.raises(LicenseError, match="reinstated"):
            services.reinstate(get(License, lic), a)


def test_revoking_closes_a_pending_request(app, make_user, make_specialization, make_license, make_request,
                                           audit_events):
    admin = make_user(Role.ADMIN)
    lic = make_license(make_user(), make_specialization())
    req = make_request(lic)
    with app.app_context():
        mark = audit_events.mark()
        services.revoke(get(License, lic), get(User, admin), "misconduct", "Abuse of a referee")
        db.session.commit()
        assert get(UpgradeRequest, req).status == RequestStatus.REJECTED
        assert audit_events.actions(since=mark) == [actions.LICENSE_REVOKED, actions.LICENSE_UPGRADE_REJECTED]


def test_expire_is_idempotent_and_renew_brings_it_back(app, make_user, make_specialization, make_license,
                                                       audit_events):
    admin = make_user(Role.ADMIN)
    spec = make_specialization(validity_months=12)
    lic = make_license(make_user(), spec)
    keeps = make_license(make_user(), spec)
    with app.app_context():
        get(License, lic).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        mark = audit_events.mark()
        assert services.expire_due() == 1
        db.session.commit()
        assert services.expire_due() == 0
        db.session.commit()
        assert audit_events.actions(since=mark) == [actions.LICENSE_EXPIRED]
        license = get(License, lic)
        assert license.status == LicenseStatus.EXPIRED and state.check(license)
        assert get(License, keeps).status == LicenseStatus.ACTIVE
        with pytest.raises(LicenseError, match="renew"):
            services.reinstate(license, get(User, admin))
        services.renew(license, get(User, admin))
        db.session.commit()
        license = get(License, lic)
        assert license.status == LicenseStatus.ACTIVE
        assert license.expires_at > utcnow() + timedelta(days=360)
        assert [r.kind for r in history(lic.id)] == ["issued", "expired", "renewed"]
        assert audit_events.actions(since=mark)[-1] == actions.LICENSE_RENEWED


def test_renewing_early_keeps_the_remaining_time(app, make_user, make_specialization, make_license):
    spec = make_specialization(validity_months=12)
    lic = make_license(make_user(), spec)
    with app.app_context():
        before = get(License, lic).expires_at
        license = services.renew(get(License, lic), None)
        assert license.expires_at.date() == services.add_months(before, 12).date()


def test_licenses_without_validity_cannot_be_renewed(app, make_user, make_specialization, make_license):
    lic = make_license(make_user(), make_specialization(validity_months=None))
    with app.app_context():
        assert get(License, lic).expires_at is None
        with pytest.raises(LicenseError, match="do not expire"):
            services.renew(get(License, lic), None)


def test_issue_license_refusals(app, make_user, make_specialization, make_license):
    student, newcomer = make_user(), make_user()
    spec = make_specialization(max_level=3)
    make_license(student, spec)
    with app.app_context():
        with pytest.raises(LicenseError, match="already holds"):
            services.issue_license(get(User, student), get(Specialization, spec), 1, None)
        with pytest.raises(LicenseError, match="levels 1 to 3"):
            services.issue_license(get(User, newcomer), get(Specialization, spec), 4, None)


def test_requirements_status_lists_each_requirement_with_its_completion(app, make_user, make_specialization):
    student, teacher = make_user(), make_user(Role.INSTRUCTOR)
    spec = make_specialization(requirements_per_level=3)
    with app.app_context():
        rows = rules.requirements_status(get(User, student), get(Specialization, spec), 1)
        assert len(rows) == 3 and all(c is None for _, c in rows)
        db.session.add(
            RequirementCompletion(
                user_id=student.id, requirement_id=rows[0][0].id, confirmed_by_id=teacher.id
            )
        )
        db.session.commit()
        rows = rules.requirements_status(get(User, student), get(Specialization, spec), 1)
        assert rows[0][1].confirmed_by_id == teacher.id
        assert not rules.requirements_met(rows)
        assert rules.requirements_status(get(User, student), get(Specialization, spec), 9) == []


def test_add_months_clamps_to_the_end_of_the_month():
    assert services.add_months(datetime(2025, 1, 31, tzinfo=UTC), 1) == datetime(2025, 2, 28, tzinfo=UTC)
    assert services.add_months(datetime(2025, 11, 15, tzinfo=UTC), 26).date() == date(2028, 1, 15)
