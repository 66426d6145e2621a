"""POST /admin/users/<id>/details: corrections with a reason, audited before and after; a new
date of birth re-evaluates guardian consent."""
from __future__ import annotations

from datetime import date

from portal import fonts
from portal.audit import actions
from portal.extensions import db
from portal.licenses import rules
from portal.licenses import services as lifecycle
from portal.models.catalogue import Specialization
from portal.models.license import License, LicenseStatus, UpgradeRequest
from portal.models.user import Role, User


def _age(years: int) -> date:
    today = date.today()
    return date(today.year - years, 1, 1)


def _details(client, user, **changes):
    """Post the corrections; a refusal comes back on the user page (its one showing
    answers 422), as portal.refused shows it."""
    data = {"name": user.name, "given_name": user.given_name or "", "family_name": user.family_name or "",
            "email": user.email,
            "date_of_birth": user.date_of_birth.isoformat() if user.date_of_birth else "",
            "reason": "Typo at registration", **changes}
    answer = client.post(f"/admin/users/{user.id}/details", data=data)
    if answer.status_code == 303:
        shown = client.get(answer.location)
        if shown.status_code != 200:  # the refusal, shown once
            return shown
    return answer


def test_a_correction_is_audited_with_before_and_after(app, client, logged_admin, make_user, audit_events):
    student = make_user(name="Sam Smiht", email="sam@example.org")
    page = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert f'action="/admin/users/{student.id}/details"' in page and 'name="reason"' in page
    answer = _details(client, student, name="Sam Smith", email="Sam.Smith@example.org",
                      date_of_birth="1999-05-04")
    assert answer.status_code == 303
    with app.app_context():
        user = db.session.get(User, student.id)
        assert (user.name, user.email, user.date_of_birth) == ("Sam Smith", "sam.smith@example.org",
                                                               date(1999, 5, 4))
    [event] = audit_events(actions.USER_DETAILS_CORRECTED)
    assert event.details["reason"] == "Typo at registration"
    assert event.details["before"]["name"] == "Sam Smiht" and event.details["after"]["name"] == "Sam Smith"
    assert event.details["before"]["email"] == "sam@example.org"
    assert event.details["after"]["date_of_birth"] == "1999-05-04"


def test_a_correction_needs_a_reason_and_a_free_address(app, client, logged_admin, make_user):
    make_user(email="taken@example.org")
    student = make_user(email="sam@example.org")
    no_reason = _details(client, student, name="Other", reason="")
    assert no_reason.status_code == 422 and 'id="details_reason-error"' in no_reason.get_data(as_text=True)
    taken = _details(client, student, email="taken@example.org")
    assert taken.status_code == 422 and "Another account already uses" in taken.get_data(as_text=True)
    bad_date = _details(client, student, date_of_birth="2999-01-01")
    assert bad_date.status_code == 422
    assert 'id="details_date_of_birth-error"' in bad_date.get_data(as_text=True)
    blank = _details(client, student, name="\u200b")
    assert blank.status_code == 422 and 'id="details_name-error"' in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, student.id).email == "sam@example.org"


def test_a_newly_adult_student_no_longer_waits_for_consent(app, client, logged_admin, make_user,
                                                          make_specialization, audit_events):
    minor = make_user(date_of_birth=_age(16), email="young@example.org")
    spec = make_specialization()
    with app.app_context():
        holder = db.session.get(User, minor.id)
        spec_obj = db.session.get(Specialization, spec.id)
        request = lifecycle.select_specialization(holder, spec_obj, holder).request
        db.session.commit()
        assert rules.waiting_for(request) == rules.GUARDIAN_CONSENT
        request_id = request.id
    assert _details(client, minor, date_of_birth=_age(30).isoformat()).status_code == 303
    with app.app_context():
        request = db.session.get(UpgradeRequest, request_id)
        assert rules.waiting_for(request) == rules.ADMIN_REVIEW
    [event] = audit_events(actions.USER_DETAILS_CORRECTED)
    assert event.details["consent"] == "no_longer_needed"
    assert event.details["requests_unblocked"] == [request_id]


def test_a_newly_minor_student_gets_licenses_flagged_not_revoked(app, client, logged_admin, make_user,
                                                                make_specialization, make_license,
                                                                audit_events):
    student = make_user(date_of_birth=_age(30), email="adult@example.org")
    license = make_license(student, make_specialization())
    assert _details(client, student, date_of_birth=_age(15).isoformat()).status_code == 303
    with app.app_context():
        flagged = db.session.get(License, license.id)
        assert flagged.status == LicenseStatus.ACTIVE and flagged.consent_review_at is not None
    assert len(audit_events(actions.LICENSE_CONSENT_REVIEW)) == 1
    page = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert "flagged for a guardian consent review" in page and license.code in page
    # Recording the consent clears the flag.
    answer = client.post(f"/admin/users/{student.id}/consent", data={
        "guardian_name": "Pat Doe", "relationship": "father", "method": "in_person", "note": ""})
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.get(License, license.id).consent_review_at is None


def test_renaming_a_holder_as_admin_writes_history(app, client, logged_admin, make_user, make_specialization,
                                                   make_license, runner):
    student = make_user(email="holder@example.org")
    license = make_license(student, make_specialization())
    assert _details(client, student, name="New Holder Name").status_code == 303
    assert runner.invoke(args=["licenses", "verify", license.code]).exit_code == 0
    assert client.get(f"/verify/{license.code}.json").get_json()["holder"] == "New Holder Name"


def test_only_admins_correct_details(client, login_as, make_user):
    target = make_user()
    login_as(Role.INSTRUCTOR)
    assert client.post(f"/admin/users/{target.id}/details", data={"reason": "x"}).status_code == 403


def test_the_name_parts_are_corrected_with_the_reason_and_audited_before_and_after(
        app, client, logged_admin, make_user, audit_events):
    student = make_user(name="Eszter Kovács", email="eszter@example.org")
    page = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert 'name="given_name"' in page and 'name="family_name"' in page
    answer = _details(client, student, given_name="Eszter", family_name=" Kovács ",
                      reason="Asked at the desk")
    assert answer.status_code == 303
    with app.app_context():
        user = db.session.get(User, student.id)
        assert (user.name, user.given_name, user.family_name) == ("Eszter Kovács", "Eszter", "Kovács")
    [event] = audit_events(actions.USER_DETAILS_CORRECTED)
    assert event.details["reason"] == "Asked at the desk"
    assert set(event.details["changed"]) == {"given_name", "family_name"}
    assert event.details["before"] == {"given_name": None, "family_name": None}
    assert event.details["after"] == {"given_name": "Eszter", "family_name": "Kovács"}
    page = client.get(f"/admin/users/{student.id}").get_data(as_text=True)
    assert 'id="details_given_name"' in page and 'value="Kovács"' in page
    # Emptied: unknown again, audited too.
    with app.app_context():
        student = db.session.get(User, student.id)
        db.session.expunge(student)
    assert _details(client, student, family_name="").status_code == 303
    last = audit_events(actions.USER_DETAILS_CORRECTED)[-1]
    assert last.details["before"] == {"family_name": "Kovács"}
    assert last.details["after"] == {"family_name": None}


def test_a_wrong_name_part_is_refused_beside_its_field(app, client, logged_admin, make_user):
    student = make_user(name="Sam Smith", email="sam@example.org")
    page = _details(client, student, given_name="x" * 81, family_name="Sm\U00010600ith")
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and 'value="Sm\U00010600ith"' in html
    assert 'id="details_given_name-error"' in html and "80 characters" in html
    if fonts.undrawable("\U00010600"):  # Linear A: no installed font draws it
        assert 'id="details_family_name-error"' in html and "cannot print" in html
    with app.app_context():
        user = db.session.get(User, student.id)
        assert (user.given_name, user.family_name) == (None, None)
