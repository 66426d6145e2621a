"""Guardian consent with evidence: recorded by an admin or an instructor of the minor's class,
withdrawn with a reason (which suspends the licenses issued under it); the student sees it."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.audit import actions
from portal.extensions import db
from portal.licenses import chain, rules, state
from portal.licenses import services as lifecycle
from portal.models.catalogue import Specialization
from portal.models.consent import ConsentRecord
from portal.models.license import License, LicenseEvent, LicenseStatus, UpgradeRequest
from portal.models.user import Role, User
from tests.support.http import login
from tests.support.mail import wait_for_mail

EVIDENCE = {"guardian_name": "Lucía Martínez", "relationship": "mother", "method": "signed_form",
            "note": "Form filed in the office binder"}


def _minor(make_user, **kwargs):
    today = date.today()
    return make_user(date_of_birth=date(today.year - 15, 1, 1), **kwargs)


def _start(app, student, spec) -> int:
    with app.app_context():
        holder = db.session.get(User, student.id)
        spec_obj = db.session.get(Specialization, spec.id)
        request = lifecycle.select_specialization(holder, spec_obj, holder).request
        db.session.commit()
        return request.id


def test_an_admin_records_consent_with_evidence_and_the_request_goes_on(
        app, client, logged_admin, make_user, make_specialization, audit_events):
    minor = _minor(make_user, email="minor@example.org")
    request_id = _start(app, minor, make_specialization())
    page = client.get(f"/admin/users/{minor.id}").get_data(as_text=True)
    assert 'name="relationship"' in page and 'value="in_person"' in page
    missing = client.post(f"/admin/users/{minor.id}/consent",
                          data={**EVIDENCE, "method": "", "relationship": ""}, follow_redirects=True)
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'id="method-error"' in html and 'id="relationship-error"' in html
    answer = client.post(f"/admin/users/{minor.id}/consent", data=EVIDENCE)
    assert answer.status_code == 303
    with app.app_context():
        [record] = db.session.scalars(sa.select(ConsentRecord)).all()
        assert (record.guardian_name, record.relationship_, record.method, record.note) == (
            "Lucía Martínez", "mother", "signed_form", "Form filed in the office binder")
        assert record.recorded_by_id == logged_admin.id and record.withdrawn_at is None
        assert rules.waiting_for(db.session.get(UpgradeRequest, request_id)) == rules.ADMIN_REVIEW
    [event] = audit_events(actions.USER_CONSENT_RECORDED)
    assert event.details["method"] == "signed_form" and event.details["requests_waiting"] == [request_id]
    again = client.post(f"/admin/users/{minor.id}/consent", data=EVIDENCE, follow_redirects=True)
    assert again.status_code == 422 and "already recorded" in again.get_data(as_text=True)


def test_an_instructor_of_the_minors_class_records_it_from_the_roster(
        app, client, make_user, make_specialization, make_class, join, audit_events):
    instructor = make_user(Role.INSTRUCTOR)
    other = make_user(Role.INSTRUCTOR)
    spec = make_specialization()
    klass = make_class(instructor, spec)
    make_class(other, spec)
    minor = _minor(make_user)
    join(minor, klass)
    login(client, instructor)
    roster = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    url = f"/dashboard/classes/{klass.id}/students/{minor.id}/consent"
    assert f'href="{url}"' in roster
    assert client.get(url).status_code == 200
    assert client.post(url, data=EVIDENCE).status_code == 303
    with app.app_context():
        assert db.session.get(User, minor.id).guardian_consent_by_id == instructor.id
    assert audit_events(actions.USER_CONSENT_RECORDED)[0].actor_id == instructor.id
    # Another instructor does not teach the student: the page is not theirs.
    stranger = app.test_client()
    login(stranger, other)
    assert stranger.get(url).status_code == 404


def test_withdrawal_suspends_licenses_issued_under_it_and_tells_the_student(
        app, client, logged_admin, make_user, make_specialization, make_license, audit_events):
    minor = _minor(make_user, email="teen@example.org")
    earlier = make_license(minor, make_specialization())  # before any consent (e.g. by an admin)
    assert client.post(f"/admin/users/{minor.id}/consent", data=EVIDENCE).status_code == 303
    under = make_license(minor, make_specialization(), actor=logged_admin)
    no_reason = client.post(f"/admin/users/{minor.id}/consent/withdraw", data={"reason": ""},
                            follow_redirects=True)
    assert no_reason.status_code == 422
    answer = client.post(f"/admin/users/{minor.id}/consent/withdraw", data={"reason": "The mother asked"})
    assert answer.status_code == 303
    with app.app_context():
        suspended = db.session.get(License, under.id)
        assert suspended.status == LicenseStatus.SUSPENDED and suspended.status_reason == "consent_withdrawn"
        last = db.session.scalar(sa.select(LicenseEvent).where(LicenseEvent.license_id == under.id)
                                 .order_by(LicenseEvent.seq.desc()).limit(1))
        assert (last.kind, last.reason, last.note) == ("suspended", "consent_withdrawn", "The mother asked")
        assert chain.verify_history(suspended).ok and state.check(suspended)
        assert db.session.get(License, earlier.id).status == LicenseStatus.ACTIVE
        record = db.session.scalar(sa.select(ConsentRecord))
        assert record.withdrawn_by_id == logged_admin.id and record.withdrawal_reason == "The mother asked"
        assert rules.needs_guardian_consent(db.session.get(User, minor.id))
    [event] = audit_events(actions.USER_CONSENT_WITHDRAWN)
    assert event.details["licenses_suspended"] == [under.id]
    # (Its notifications mail too: the consent recorded, the license issued.)
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "teen@example.org",
                                      subject="The guardian's consent for your account was withdrawn")
    assert under.code in text
    # The student sees who recorded it and when, and that it was withdrawn.
    student = app.test_client()
    login(student, minor)
    page = student.get("/account").get_data(as_text=True)
    assert "Lucía Martínez" in page and logged_admin.name in page and "withdrawn" in page.lower()


def test_the_student_sees_the_consent_in_force(app, client, logged_admin, make_user):
    minor = _minor(make_user)
    client.post(f"/admin/users/{minor.id}/consent", data=EVIDENCE)
    student = app.test_client()
    login(student, minor)
    page = student.get("/account").get_data(as_text=True)
    assert "recorded by " + logged_admin.name in page and "in force" in page


def test_the_withdrawal_mail_speaks_the_students_language(app, client, logged_admin, make_user):
    minor = _minor(make_user, email="hu.teen@example.org")
    with app.app_context():
        db.session.get(User, minor.id).locale = "hu"
        db.session.commit()
    client.post(f"/admin/users/{minor.id}/consent", data=EVIDENCE)
    client.post(f"/admin/users/{minor.id}/consent/withdraw", data={"reason": "x"})
    assert wait_for_mail(app.config["MAIL_OUTBOX"], "hu.teen@example.org",
                         subject="Visszavonták a fiókodhoz tartozó gondviselői hozzájárulást")
