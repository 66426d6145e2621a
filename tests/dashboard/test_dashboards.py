"""The role-aware dashboard: what students, instructors and admins see."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.classes import services
from portal.extensions import db
from portal.models import License, RequestStatus, UpgradeRequest, User
from portal.models.catalogue import Level, Requirement
from tests.support.http import login

HTMX = {"HX-Request": "true"}


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)


@pytest.fixture
def teacher(make_user):
    return make_user("instructor", name="Carla Rivera")


def confirm_all(app, student, teacher, spec_id, level):
    with app.app_context():
        reqs = db.session.scalars(
            sa.select(Requirement)
            .join(Level)
            .where(Level.specialization_id == spec_id, Level.number == level)
        ).all()
        t, u = db.session.get(User, teacher.id), db.session.get(User, student.id)
        for r in reqs:
            services.confirm_requirement(u, r, actor=t)
        db.session.commit()


def test_brand_new_student_gets_helpful_empty_states(client, login_as, spec):
    login_as("student")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Your next step" in page
    assert 'action="/licenses/select-specialization"' in page and f'value="{spec.id}"' in page
    assert "You have no license yet" in page
    assert "You are not in a class yet" in page and "/dashboard/join" in page
    assert "No requests yet" in page
    assert page.count("<h1") == 1


def test_student_sees_licenses_progress_requests_classes_activity(
    app, client, spec, teacher, make_user, make_class, join, make_license, make_request
):
    student = make_user("student", name="Maya Lindqvist")
    klass = make_class(teacher, spec, "Player autumn")
    join(student, klass)
    license = make_license(student, spec, 1)
    with app.app_context():
        first = db.session.scalars(
            sa.select(Requirement).join(Level).where(Level.specialization_id == spec.id, Level.number == 2)
        ).first()
        services.confirm_requirement(
            db.session.get(User, student.id), first, actor=db.session.get(User, teacher.id)
        )
        db.session.commit()
    login(client, student)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Player" in page and "Level 1 of 3" in page
    assert '<span class="badge badge-active">Active</span>' in page  # the word, not colour only
    assert license.code in page and "Valid until" in page
    assert "1 of 2 requirements for level 2" in page
    assert re.search(r'<progress id="progress-\d+" value="1" max="2">', page)
    assert "PLY L2 requirement 1" in page and "(met)" in page and "(not yet met)" in page
    assert "Player autumn" in page and "Carla Rivera" in page
    assert "You joined the class Player autumn" in page and "class.joined" not in page  # in words
    assert f"/licenses/{license.id}/certificate.pdf" in page
    # The card says what the license page says about asking (one partial, one rule).
    assert "1 of 2 requirements of level 2 are confirmed. You can ask now" in page
    assert "Every requirement for Player level 2 is met" not in page  # not a next step yet

    confirm_all(app, student, teacher, spec.id, 2)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Every requirement for Player level 2 is met" in page
    assert "Ask for level 2" in page and f"/licenses/{license.id}/upgrade" in page

    make_request(license)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Ask for level 2" not in page
    assert "Your request for Player (Level 1 → 2) is waiting for your instructor" in page
    assert '<span class="badge badge-pending">Pending</span>' in page


def test_only_specializations_the_student_may_start_are_offered(client, login_as, spec, make_specialization):
    adults = make_specialization("COA", "Coach", min_age=18)
    login_as("student", date_of_birth=date.today() - timedelta(days=16 * 366))
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'<option value="{spec.id}">Player</option>' in page
    assert f'value="{adults.id}"' not in page


def test_a_student_never_sees_another_students_data(
    client, spec, teacher, make_user, make_class, join, make_license
):
    klass = make_class(teacher, spec, "Shared class")
    me, other = make_user("student", name="Me Myself"), make_user("student", name="Other Person")
    join(me, klass)
    join(other, klass)
    theirs = make_license(other, spec, 2)
    login(client, me)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Other Person" not in page and other.email not in page and theirs.code not in page
    assert "You have no license yet" in page


def test_instructor_sees_classes_queue_and_decides(
    app, client, spec, teacher, make_user, make_class, join, make_license, make_request
):
    klass = make_class(teacher, spec, "Player autumn")
    mine, elsewhere = make_user("student", name="Liam OConnor"), make_user("student", name="Zed Elsewhere")
    join(mine, klass)
    other_teacher = make_user("instructor")
    join(elsewhere, make_class(other_teacher, spec, "Other class"))
    request = make_request(make_license(mine, spec, 1))
    make_request(make_license(elsewhere, spec, 1))
    login(client, teacher)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Player autumn" in page and klass.join_code in page
    assert re.search(r'data-label="Students">1</td>', page)
    assert "Liam OConnor" in page and "Zed Elsewhere" not in page
    assert "0 of 2 requirements met" in page and "PLY L2 requirement 1" in page
    assert f'action="/licenses/requests/{request.id}/approve"' in page
    assert f'hx-post="/licenses/requests/{request.id}/reject"' in page
    assert "approving needs a note" in page  # while requirements are missing

    confirm_all(app, mine, teacher, spec.id, 2)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "All requirements met" in page and "approving needs a note" not in page

    # Decide inline with htmx: the licenses blueprint answers with the updated card.
    response = client.post(f"/licenses/requests/{request.id}/approve", data={"note": ""}, headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
    assert f'id="request-{request.id}"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(UpgradeRequest, request.id).status == RequestStatus.APPROVED
        assert db.session.scalar(sa.select(License.level).where(License.holder_id == mine.id)) == 2
    page = client.get("/dashboard").get_data(as_text=True)
    assert "No requests are waiting" in page
    assert "My recent decisions" in page and '<span class="badge badge-approved">Approved</span>' in page


def test_instructor_rejects_without_javascript(
    app, client, spec, teacher, make_user, make_class, join, make_license, make_request
):
    student = make_user("student")
    join(student, make_class(teacher, spec))
    request = make_request(make_license(student, spec, 1))
    login(client, teacher)
    # Reject asks first: without JavaScript a confirmation page, nothing decided yet.
    asked = client.post(f"/licenses/requests/{request.id}/reject", data={"note": "Not yet"})
    assert asked.status_code == 200 and "Reject this request?" in asked.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(UpgradeRequest, request.id).status == RequestStatus.PENDING
    response = client.post(f"/licenses/requests/{request.id}/reject",
                           data={"note": "Not yet", "confirmed": "yes"})
    assert response.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(UpgradeRequest, request.id).status == RequestStatus.REJECTED
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Not yet" in page and "Rejected" in page


def test_new_instructor_empty_states(client, login_as):
    login_as("instructor")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "You have no classes yet" in page and "No requests are waiting" in page


def test_admin_sees_counts_links_and_charts(
    app, client, spec, make_user, make_license, make_class, join, make_request
):
    admin = make_user("admin")
    students = [make_user("student") for _ in range(3)]
    make_user("student", status="suspended")
    make_user("student", status="archived")
    for s in students[:2]:
        make_license(s, spec, 1)
    make_request(make_license(students[2], spec, 2))
    failed = client.post("/auth/login", data={"email": admin.email, "password": "wrong password!"})
    assert failed.status_code in (401, 422)
    login(client, admin)
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count("<h1") == 1
    assert 'href="/admin/users?role=student&amp;status=active" aria-label="Students, active: 3">3</a>' in page
    assert 'aria-label="Students, suspended: 1">1</a>' in page
    # Every status has its column heading and its word in the cells' labels.
    assert '<th scope="col">Archived accounts</th>' in page
    assert 'aria-label="Students, archived: 1">1</a>' in page
    assert f'href="/admin/licenses?specialization={spec.id}&amp;level=1&amp;status=active"' in page
    assert 'aria-label="Player level 1: 2"' in page and 'aria-label="Player level 2: 1"' in page
    assert '<a href="/licenses/requests/">1</a>' in page
    assert '<a href="/audit/?action=auth.login_failed">1</a>' in page
    # Each chart is an SVG with a table alternative holding the same numbers.
    assert page.count('<svg class="bar-chart"') == 2
    assert page.count("as a table</summary>") == 2
    assert "Licenses issued per week</strong> · 3 in the last 12 weeks" in page
    assert "New students per week</strong> · 5 in the last 12 weeks" in page


def test_dashboard_needs_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
