"""Each service that changes what a person should know notifies them, in its transaction."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.classes import services as classes
from portal.extensions import db
from portal.licenses import reviews
from portal.licenses import services as lifecycle
from portal.models import License, Notification, Specialization, UpgradeRequest, User
from portal.models.notification import Category
from portal.notifications import kinds
from portal.notifications.services import notify
from tests.notifications.helpers import kinds_of, notifications_of
from tests.support.http import login

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def taught(make_user, make_specialization, make_class, join, make_license):
    """An instructor, their class, and a student in it holding a level-1 license."""
    instructor = make_user("instructor")
    spec = make_specialization(requirements_per_level=0)
    klass = make_class(instructor, spec)
    student = make_user("student")
    join(student, klass)
    license = make_license(student, spec)
    return instructor, klass, student, license, spec


def test_student_joining_a_class_tells_its_instructor(app, taught):
    instructor, klass, student, _, _ = taught
    joined = [n for n in notifications_of(app, instructor) if n.kind == "student_joined"]
    assert len(joined) == 1
    assert joined[0].category == Category.CLASSES
    assert joined[0].data["class_id"] == klass.id and joined[0].data["student"] == student.name


def test_a_new_request_tells_the_reviewer_once_and_its_decision_tells_the_student(
        app, taught, make_request, make_user):
    instructor, _, student, license, _ = taught
    request = make_request(license)
    assert kinds_of(app, instructor).count("request_waiting") == 1
    with app.app_context():
        reviews.approve_request(db.session.get(UpgradeRequest, request.id),
                                db.session.get(User, instructor.id), note="Well done")
        db.session.commit()
    approved = [n for n in notifications_of(app, student) if n.kind == "request_approved"]
    assert len(approved) == 1
    data = approved[0].data
    assert (data["license_id"], data["level"], data["note"]) == (license.id, 2, "Well done")
    # The instructor heard of the request once, not of its decision.
    assert kinds_of(app, instructor).count("request_waiting") == 1


def test_rejection_carries_the_note(app, taught, make_request):
    instructor, _, student, license, _ = taught
    request = make_request(license)
    with app.app_context():
        reviews.reject_request(db.session.get(UpgradeRequest, request.id),
                               db.session.get(User, instructor.id), "Not yet: practise the drills")
        db.session.commit()
    rejected = [n for n in notifications_of(app, student) if n.kind == "request_rejected"][0]
    assert rejected.data["note"] == "Not yet: practise the drills"
    with app.test_request_context():
        assert kinds.body(rejected.kind, rejected.data) == "Reason: Not yet: practise the drills"


@pytest.mark.parametrize("action, kind", [
    ("suspend", "license_suspended"), ("revoke", "license_revoked"),
    ("reinstate", "license_reinstated"), ("renew", "license_renewed"),
])
def test_license_status_changes_tell_the_holder(app, taught, make_user, action, kind):
    _, _, student, license, _ = taught
    admin = make_user("admin")
    with app.app_context():
        lic = db.session.get(License, license.id)
        actor = db.session.get(User, admin.id)
        if action == "reinstate":
            lifecycle.suspend(lic, actor, "Paused")
            lifecycle.reinstate(lic, actor)
        elif action == "revoke":
            lifecycle.revoke(lic, actor, "error", "Issued by mistake")
        elif action == "suspend":
            lifecycle.suspend(lic, actor, "Paused")
        else:
            lifecycle.renew(lic, actor)
        db.session.commit()
    found = [n for n in notifications_of(app, student) if n.kind == kind]
    assert len(found) == 1 and found[0].category == Category.LICENSE_STATUS
    assert found[0].data["code"] == license.code and found[0].data["license_id"] == license.id


def test_a_license_issued_by_an_admin_is_announced_but_not_one_the_student_started(
        app, make_user, make_specialization, make_license):
    student, admin = make_user("student"), make_user("admin")
    make_license(student, make_specialization(), actor=admin)
    assert kinds_of(app, student) == ["license_issued"]
    other, spec = make_user("student"), make_specialization()
    with app.app_context():
        me = db.session.get(User, other.id)
        lifecycle.select_specialization(me, db.session.get(Specialization, spec.id), me)
        db.session.commit()
    assert kinds_of(app, other) == []


def test_consent_recorded_and_withdrawn(app, make_user):
    from datetime import date  # noqa: PLC0415  (only this test needs it)
    minor = make_user("student", date_of_birth=date(2016, 1, 1))
    admin = make_user("admin")
    with app.app_context():
        lifecycle.record_guardian_consent(db.session.get(User, minor.id), db.session.get(User, admin.id),
                                          "Ann Parent", "mother")
        db.session.commit()
        lifecycle.withdraw_guardian_consent(db.session.get(User, minor.id), db.session.get(User, admin.id),
                                            "Asked by the family")
        db.session.commit()
    found = notifications_of(app, minor)
    assert [n.kind for n in found] == ["consent_recorded", "consent_withdrawn"]


def test_password_change_and_new_device_login_are_security_notifications(app, client, make_user):
    user = make_user("student")
    login(client, user)  # the first login ever: not a "new device"
    assert kinds_of(app, user) == []
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = FIREFOX
    login(other, user)
    found = notifications_of(app, user)
    assert [n.kind for n in found] == ["new_device_login"]
    assert found[0].category == Category.SECURITY and found[0].mail == "instant"
    login(other, user)  # the same browser again: nothing new
    assert kinds_of(app, user) == ["new_device_login"]
    response = client.post("/auth/change-password", data={
        "current_password": user.password, "password": "a brand new passphrase", "confirm_password":
        "a brand new passphrase"})
    assert response.status_code in (302, 303)
    assert kinds_of(app, user)[-1] == "password_changed"


def test_a_rolled_back_change_leaves_no_notification(app, taught, make_user):
    _, _, student, license, _ = taught
    admin = make_user("admin")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
        lifecycle.suspend(db.session.get(License, license.id), db.session.get(User, admin.id), "Paused")
        db.session.flush()
        db.session.rollback()
        after = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    assert after == before
    assert "license_suspended" not in kinds_of(app, student)


def test_notify_refuses_a_kind_in_the_wrong_category(app, make_user):
    user = make_user("student")
    with app.app_context(), pytest.raises(ValueError):
        notify(db.session.get(User, user.id), Category.DECISIONS, "license_revoked")
    with app.app_context(), pytest.raises(ValueError):
        notify(db.session.get(User, user.id), Category.DECISIONS, "no_such_kind")


def test_every_kind_has_words_and_a_known_category(app):
    with app.test_request_context():
        for name, entry in kinds.KINDS.items():
            assert entry.category in Category.ALL, name
            assert kinds.title(name, {}), name


def test_joining_through_the_service_tells_the_instructor_once_even_if_joined_again(app, taught):
    instructor, klass, student, _, _ = taught
    with app.app_context():
        me = db.session.get(User, student.id)
        classes.join_class(me, klass.join_code, actor=me)
        db.session.commit()
    assert kinds_of(app, instructor).count("student_joined") == 1
