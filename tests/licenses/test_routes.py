"""License pages: the student flow, review, admin actions, ownership and htmx partials."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.extensions import db
from portal.licenses import rules
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
from tests.support.http import login
from tests.support.lookups import get, history

HX = {"HX-Request": "true"}


def put_in_class(app, instructor, student, spec):
    """The student in a class of the instructor, who teaches its specialization."""
    with app.app_context():
        assigned_row(instructor.id, spec.id)
        klass = Klass(
            name="Group",
            specialization_id=spec.id,
            instructor_id=instructor.id,
            join_code=f"C{instructor.id}S{student.id}P{spec.id}",
        )
        db.session.add(klass)
        db.session.flush()
        db.session.add(ClassMembership(class_id=klass.id, user_id=student.id))
        db.session.commit()


def confirm_level(app, student, spec, level):
    with app.app_context():
        for requirement, done in rules.requirements_status(
            get(User, student), get(Specialization, spec), level
        ):
            if done is None:
                db.session.add(RequirementCompletion(user_id=student.id, requirement_id=requirement.id))
        db.session.commit()


# --- student flow ------------------------------------------------------------------------


def test_a_new_student_sees_an_empty_state_and_the_specializations(client, login_as, make_specialization):
    make_specialization(name="Player")
    login_as(Role.STUDENT)
    page = client.get("/licenses/").get_data(as_text=True)
    assert "You have no licenses yet" in page
    assert 'name="specialization"' in page and "Player" in page


def test_selecting_a_specialization_issues_a_license_and_shows_it(app, client, login_as, make_specialization):
    spec = make_specialization(name="Player")
    student = login_as(Role.STUDENT)
    response = client.post("/licenses/select-specialization", data={"specialization": spec.code})
    assert response.status_code == 303
    with app.app_context():
        license = db.session.scalar(sa.select(License).where(License.holder_id == student.id))
        assert license.level == 1
    assert response.headers["Location"].endswith(f"/licenses/{license.id}")
    page = client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert license.code in page
    assert f"http://portal.test/verify/{license.code}" in page
    assert "History intact and signature valid" in page
    assert "Issued" in page and "Toward level 2" in page


def test_selecting_by_id_works_too_and_unknown_values_are_422(app, client, login_as, make_specialization):
    spec = make_specialization(auto_issue=False)
    login_as(Role.STUDENT)
    bad = client.post("/licenses/select-specialization", data={"specialization": "NOPE"})
    assert bad.status_code == 422 and "Choose one of the specializations" in bad.get_data(as_text=True)
    empty = client.post("/licenses/select-specialization", data={})
    assert empty.status_code == 422
    ok = client.post("/licenses/select-specialization", data={"specialization": str(spec.id)})
    assert ok.status_code == 303
    page = client.get("/licenses/").get_data(as_text=True)
    assert "waiting for review" in page and "Pending" in page


def test_a_too_young_student_gets_the_reason_next_to_the_field(client, login_as, make_specialization):
    spec = make_specialization(min_age=18)
    login_as(Role.STUDENT, date_of_birth=date(date.today().year - 15, 1, 1))
    response = client.post("/licenses/select-specialization", data={"specialization": spec.code})
    assert response.status_code == 422
    assert "open from the age of 18" in response.get_data(as_text=True)


def test_select_is_for_students_only(client, login_as, make_specialization):
    spec = make_specialization()
    login_as(Role.INSTRUCTOR)
    assert (
        client.post("/licenses/select-specialization", data={"specialization": spec.code}).status_code == 403
    )


def test_upgrade_form_validation_and_submission(app, client, make_user, make_specialization, make_license,
                                                audit_events):
    student = make_user()
    lic = make_license(student, make_specialization())
    login(client, student)
    page = client.get(f"/licenses/{lic.id}/upgrade")
    assert page.status_code == 200 and 'name="reason"' in page.get_data(as_text=True)
    empty = client.post(f"/licenses/{lic.id}/upgrade", data={"reason": ""})
    assert empty.status_code == 422 and "field-error" in empty.get_data(as_text=True)
    done = client.post(f"/licenses/{lic.id}/upgrade", data={"reason": "Passed the fitness test"})
    assert done.status_code == 303
    again = client.post(f"/licenses/{lic.id}/upgrade", data={"reason": "Please"})
    assert again.status_code == 422
    assert "already asked" in again.get_data(as_text=True)
    with app.app_context():
        assert len(audit_events(actions.LICENSE_UPGRADE_REQUESTED)) == 1


def test_upgrade_htmx_answers_with_the_partial(client, make_user, make_specialization, make_license):
    student = make_user()
    lic = make_license(student, make_specialization())
    login(client, student)
    response = client.post(f"/licenses/{lic.id}/upgrade", data={"reason": ""}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body and 'id="upgrade-form"' in body
    assert "HX-Request" in response.headers["Vary"]


def test_the_student_withdraws_a_request(
    app, client, make_user, make_specialization, make_license, make_request
):
    student = make_user()
    lic = make_license(student, make_specialization())
    req = make_request(lic)
    login(client, student)
    assert "Withdraw request" in client.get(f"/licenses/{lic.id}").get_data(as_text=True)
    response = client.post(f"/licenses/requests/{req.id}/withdraw")
    assert response.status_code == 303
    with app.app_context():
        assert get(UpgradeRequest, req).status == RequestStatus.WITHDRAWN
    assert client.post(f"/licenses/requests/{req.id}/withdraw").status_code == 409


def test_a_student_cannot_withdraw_someone_elses_request(
    client, login_as, make_user, make_specialization, make_license, make_request
):
    req = make_request(make_license(make_user(), make_specialization()))
    login_as(Role.STUDENT)
    assert client.post(f"/licenses/requests/{req.id}/withdraw").status_code == 404


# --- ownership -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/upgrade"])
def test_another_students_license_is_404_and_recorded(
    app, client, login_as, make_user, make_specialization, make_license, path, audit_events
):
    lic = make_license(make_user(), make_specialization())
    login_as(Role.STUDENT)
    response = client.get(f"/licenses/{lic.id}{path}")
    assert response.status_code == 404
    assert client.get(f"/licenses/999999{path}").status_code == 404
    with app.app_context():
        denied = audit_events(actions.ACCESS_DENIED)
        assert denied and denied[-1].details["reason"] == "not_owner"


def test_instructors_see_licenses_of_their_students_only(
    app, client, make_user, make_specialization, make_license
):
    spec = make_specialization()
    mine, theirs = make_user(), make_user()
    lic_mine, lic_theirs = make_license(mine, spec), make_license(theirs, spec)
    teacher = make_user(Role.INSTRUCTOR)
    put_in_class(app, teacher, mine, spec)
    login(client, teacher)
    assert client.get(f"/licenses/{lic_mine.id}").status_code == 200
    assert client.get(f"/licenses/{lic_theirs.id}").status_code == 404
    # Seeing is not asking: only the holder asks for an upgrade.
    assert client.get(f"/licenses/{lic_mine.id}/upgrade").status_code == 404


def test_admins_see_every_license_with_the_action_forms(
    client, login_as, make_user, make_specialization, make_license
):
    lic = make_license(make_user(), make_specialization())
    login_as(Role.ADMIN)
    page = client.get(f"/licenses/{lic.id}").get_data(as_text=True)
    # The controls lead to the admin's routes, the only ones that change a license's status.
    assert "Admin actions" in page
    for action in ("suspend", "revoke"):
        assert f'href="/admin/licenses/{lic.id}/{action}"' in page


def test_the_detail_page_answers_htmx_with_its_partial(client, make_user, make_specialization, make_license):
    student = make_user()
    lic = make_license(student, make_specialization())
    login(client, student)
    response = client.get(f"/licenses/{lic.id}", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and lic.code in body
    assert "HX-Request" in response.headers["Vary"]
    index = client.get("/licenses/", headers=HX)
    assert "<html" not in index.get_data(as_text=True) and "HX-Request" in index.headers["Vary"]


# --- review -------------------------------------------------------------------------------------


@pytest.fixture
def review(app, make_user, make_specialization, make_license, make_request):
    spec = make_specialization()
    student, other = make_user(name="Queued Student"), make_user(name="Other Student")
    teacher = make_user(Role.INSTRUCTOR)
    lic = make_license(student, spec)
    other_lic = make_license(other, spec)
    put_in_class(app, teacher, student, spec)
    return {
        "spec": spec,
        "student": student,
        "teacher": teacher,
        "license": lic,
        "request": make_request(lic),
        "other_request": make_request(other_lic),
    }


def test_the_queue_shows_an_instructor_only_their_students(client, review):
    login(client, review["teacher"])
    page = client.get("/licenses/requests/").get_data(as_text=True)
    assert "Queued Student" in page and "Other Student" not in page
    assert "0 of 2 requirements met" in page and "approving needs a note" in page


def test_the_queue_shows_an_admin_everything(client, login_as, review):
    login_as(Role.ADMIN)
    page = client.get("/licenses/requests/").get_data(as_text=True)
    assert "Queued Student" in page and "Other Student" in page


def test_students_cannot_open_the_queue_or_decide(client, review):
    login(client, review["student"])
    assert client.get("/licenses/requests/").status_code == 403
    assert client.post(f"/licenses/requests/{review['request'].id}/approve").status_code == 403


def test_an_instructor_cannot_decide_for_a_student_outside_their_classes(app, client, review):
    login(client, review["teacher"])
    response = client.post(f"/licenses/requests/{review['other_request'].id}/approve", data={"note": "x"})
    assert response.status_code == 404
    with app.app_context():
        assert get(UpgradeRequest, review["other_request"]).status == RequestStatus.PENDING


def test_approve_needs_a_note_when_requirements_are_missing(app, client, review, audit_events):
    login(client, review["teacher"])
    url = f"/licenses/requests/{review['request'].id}/approve"
    response = client.post(url, data={"note": ""})
    assert response.status_code == 422 and "add a note" in response.get_data(as_text=True)
    response = client.post(url, data={"note": "Watched the match myself"})
    assert response.status_code == 303
    with app.app_context():
        assert get(License, review["license"]).level == 2
        assert audit_events(actions.LICENSE_UPGRADE_APPROVED)[-1].actor_id == review["teacher"].id
    second = client.post(url, data={"note": "again"})
    assert second.status_code == 409 and "already approved" in second.get_data(as_text=True)


def test_approve_by_htmx_swaps_the_request_card(app, client, review):
    confirm_level(app, review["student"], review["spec"], 2)
    login(client, review["teacher"])
    url = f"/licenses/requests/{review['request'].id}/approve"
    response = client.post(url, data={}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert f'id="request-{review["request"].id}"' in body and "Request approved" in body
    assert "HX-Request" in response.headers["Vary"]
    conflict = client.post(url, data={}, headers=HX)
    assert conflict.status_code == 409 and "<html" not in conflict.get_data(as_text=True)
    with app.app_context():
        assert len(history(review["license"].id)) == 2


def test_reject_needs_a_note(app, client, review):
    login(client, review["teacher"])
    url = f"/licenses/requests/{review['request'].id}/reject"
    assert client.post(url, data={"note": ""}).status_code == 422
    asked = client.post(url, data={"note": "Not yet, practise more"})
    assert asked.status_code == 200 and "Yes, reject" in asked.get_data(as_text=True)
    assert client.post(url, data={"note": "Not yet, practise more", "confirmed": "yes"}).status_code == 303
    with app.app_context():
        request = get(UpgradeRequest, review["request"])
        assert request.status == RequestStatus.REJECTED and request.decision_note == "Not yet, practise more"
    student_client = app.test_client()
    login(student_client, review["student"])
    assert "Not yet, practise more" in student_client.get("/licenses/").get_data(as_text=True)


# --- admin actions ------------------------------------------------------------------------------


def test_admin_actions_record_history_shown_on_the_license_page(
    app, client, login_as, make_user, make_specialization, make_license, audit_events
):
    lic = make_license(make_user(), make_specialization(validity_months=12))
    login_as(Role.ADMIN)
    base = f"/admin/licenses/{lic.id}"
    assert client.post(f"{base}/suspend", data={"note": "Fees"}).status_code == 303
    page = client.get(f"/licenses/{lic.id}").get_data(as_text=True)
    assert f'action="{base}/reinstate"' in page and "data-confirm" in page
    assert client.post(f"{base}/reinstate", data={}).status_code == 303
    no_reason = client.post(f"{base}/revoke", data={"note": "x"})
    assert no_reason.status_code == 422
    done = client.post(f"{base}/revoke", data={"reason_category": "fraud", "note": "Forged"})
    assert done.status_code == 303
    page = client.get(f"/licenses/{lic.id}").get_data(as_text=True)
    assert "Revoked" in page and "Fraud" in page
    # Renewing a revoked license is refused with the reason on the page.
    refused = client.post(f"{base}/renew", data={}, follow_redirects=True)
    assert refused.status_code == 422 and "reinstate it first" in refused.get_data(as_text=True)
    assert client.post(f"{base}/reinstate", data={"note": "Appeal upheld"}).status_code == 303
    assert client.post(f"{base}/renew", data={}).status_code == 303
    with app.app_context():
        kinds = [r.kind for r in history(lic.id)]
        assert kinds == ["issued", "suspended", "reinstated", "revoked", "reinstated", "renewed"]
        assert get(License, lic).status == LicenseStatus.ACTIVE
        assert history(lic.id)[4].note == "Appeal upheld"
        for action in (
            actions.LICENSE_SUSPENDED,
            actions.LICENSE_REVOKED,
            actions.LICENSE_REINSTATED,
            actions.LICENSE_RENEWED,
        ):
            assert audit_events(action), action


@pytest.mark.parametrize("action", ["suspend", "revoke", "reinstate", "renew"])
def test_admin_actions_are_refused_to_others(client, make_user, make_specialization, make_license, action):
    student = make_user()
    lic = make_license(student, make_specialization())
    login(client, student)
    response = client.post(
        f"/admin/licenses/{lic.id}/{action}", data={"note": "x", "reason_category": "other"}
    )
    assert response.status_code == 403
