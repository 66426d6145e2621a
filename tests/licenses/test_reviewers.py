"""Who reviews a request: an instructor only in the specializations an admin assigned them,
only for the students of their open classes, and never a first level that the
specialization does not issue by itself (an admin decides those).

The first two tests replay the attacks found from outside, over the test client:
an instructor issuing an Internship level 1, and an instructor reviewing another
instructor's Player student by opening a Player class.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.admin import services as admin_services
from portal.audit import actions
from portal.exceptions import NotYours
from portal.extensions import db
from portal.licenses import queries, reviews, rules, services
from portal.models import (
    InstructorSpecialization,
    Klass,
    License,
    RequestStatus,
    Specialization,
    UpgradeRequest,
    User,
)
from portal.models.user import Role
from tests.support.http import login
from tests.support.lookups import get


def pending_request_of(app, student) -> UpgradeRequest:
    with app.app_context():
        request = db.session.scalar(
            sa.select(UpgradeRequest).where(
                UpgradeRequest.user_id == student.id, UpgradeRequest.status == RequestStatus.PENDING
            )
        )
        db.session.expunge(request)
        return request


def license_of(app, student, spec) -> License | None:
    with app.app_context():
        return db.session.scalar(
            sa.select(License).where(License.holder_id == student.id, License.specialization_id == spec.id)
        )


@pytest.fixture
def internship(make_specialization):
    return make_specialization("INT", "Internship", auto_issue=False)


@pytest.fixture
def player(make_specialization):
    return make_specialization("PLY", "Player")


def queue_on_dashboard(client) -> str:
    """The instructor dashboard's queue of requests to decide."""
    page = client.get("/dashboard").get_data(as_text=True)
    return re.search(r'<section[^>]*id="instructor-queue".*?</section>', page, re.S).group(0)


def test_an_instructor_cannot_issue_an_internship_level_1(
    app, client, make_user, internship, make_class, join, assign, audit_events
):
    coach = make_user(Role.INSTRUCTOR)
    admin = make_user(Role.ADMIN)
    intern = make_user(Role.STUDENT, name="Ivy Intern")
    login(client, coach)

    # The attack's first step: a class in Internship, which no admin assigned them.
    opened = client.post("/dashboard/classes", data={"name": "Interns", "specialization": internship.id})
    assert opened.status_code == 422
    assert "An admin must assign you the specializations you teach" in opened.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Klass.id))) == 0

    # Even teaching Internship (an admin assigned it) and with the intern in their class,
    # the first level is an admin's decision: not in the queue, and approving is refused.
    assign(coach, internship, actor=admin)
    placements = make_class(coach, internship, "Placements")
    join(intern, placements)
    student = app.test_client()
    login(student, intern)
    asked = student.post("/licenses/select-specialization", data={"specialization": internship.code},
                         follow_redirects=True)
    assert "Licenses in Internship are issued by an admin" in asked.get_data(as_text=True)
    request = pending_request_of(app, intern)
    assert request.from_level == 0

    assert "Ivy Intern" not in client.get("/licenses/requests/").get_data(as_text=True)
    assert "Ivy Intern" not in queue_on_dashboard(client)  # (the notifications say she joined)
    assert f"/licenses/requests/{request.id}/approve" not in client.get("/dashboard").get_data(as_text=True)
    for decision, data in (("approve", {"note": "Welcome aboard"}), ("reject", {"note": "No"})):
        refused = client.post(f"/licenses/requests/{request.id}/{decision}", data=data)
        assert refused.status_code == 404
    assert license_of(app, intern, internship) is None
    assert pending_request_of(app, intern).id == request.id
    assert not audit_events(actions.LICENSE_UPGRADE_APPROVED)
    # The class roster says who decides.
    roster = client.get(f"/dashboard/classes/{placements.id}").get_data(as_text=True)
    assert "Ivy Intern" in roster and "An admin decides" in roster

    # What the student was told stays true: an admin issues it.
    desk = app.test_client()
    login(desk, admin)
    assert "Ivy Intern" in desk.get("/licenses/requests/").get_data(as_text=True)
    approved = desk.post(f"/licenses/requests/{request.id}/approve", data={"note": "Placement signed"})
    assert approved.status_code == 303
    license = license_of(app, intern, internship)
    assert license is not None and license.level == 1 and license.issued_by_id == admin.id


def test_an_instructor_cannot_review_another_instructors_player_student(
    app, client, make_user, player, make_specialization, make_license, make_request, make_class, join, assign,
    audit_events,
):
    coach = make_specialization("COA", "Coach")
    owner, intruder = make_user(Role.INSTRUCTOR), make_user(Role.INSTRUCTOR)
    admin = make_user(Role.ADMIN)
    student = make_user(Role.STUDENT, name="Paula Player")
    join(student, make_class(owner, player, "Owner's squad"))
    request = make_request(make_license(student, player))
    assign(intruder, coach, actor=admin)
    login(client, intruder)

    # The attack: open a Player class (the student then joins it too), review the request.
    opened = client.post("/dashboard/classes", data={"name": "Side door", "specialization": player.id})
    assert opened.status_code == 422
    assert "Choose one of the specializations you teach" in opened.get_data(as_text=True)

    # The same position reached legitimately, then taken away: the intruder taught Player
    # once and the student joined; an admin removed Player. The class stays, reviewing stops.
    assign(intruder, player, actor=admin)
    side = make_class(intruder, player, "Side door")
    join(student, side)
    assert "Paula Player" in client.get("/licenses/requests/").get_data(as_text=True)
    desk = app.test_client()
    login(desk, admin)
    with app.app_context():
        ids = [s.id for s in rules.specializations_of(get(User, intruder)) if s.code != "PLY"]
    assert desk.post(f"/admin/users/{intruder.id}/specializations",
                     data={"specializations": ids}).status_code == 303

    assert "Paula Player" not in client.get("/licenses/requests/").get_data(as_text=True)
    assert "Paula Player" not in queue_on_dashboard(client)
    assert client.post(f"/licenses/requests/{request.id}/approve", data={"note": "Sure"}).status_code == 404
    assert client.post(f"/licenses/requests/{request.id}/reject", data={"note": "No"}).status_code == 404
    roster = client.get(f"/dashboard/classes/{side.id}")
    assert roster.status_code == 200
    page = roster.get_data(as_text=True)
    assert "You no longer teach Player" in page and "An admin decides" in page
    with app.app_context():
        first = rules.requirements_status(get(User, student), get(Specialization, player), 2)[0][0]
    confirmed = client.post(f"/dashboard/classes/{side.id}/students/{student.id}/requirements",
                            data={"shown": [first.id], "requirement": [first.id]})
    assert confirmed.status_code == 403
    with app.app_context():
        assert get(UpgradeRequest, request).status == RequestStatus.PENDING
    assert not audit_events(actions.LICENSE_UPGRADE_APPROVED)

    # The student's own instructor still decides.
    owner_client = app.test_client()
    login(owner_client, owner)
    approved = owner_client.post(f"/licenses/requests/{request.id}/approve", data={"note": "Watched"})
    assert approved.status_code == 303


def test_the_rule_in_python_and_in_sql_agree(
    app, make_user, player, internship, make_license, make_request, make_class, join
):
    """``may_review`` and ``reviewable_by_clause`` (the queues) answer alike for every
    request and reviewer."""
    teacher, stranger, admin = make_user(Role.INSTRUCTOR), make_user(Role.INSTRUCTOR), make_user(Role.ADMIN)
    taught, player_only, outsider, newcomer, intern = (make_user(Role.STUDENT) for _ in range(5))
    player_class = make_class(teacher, player)
    intern_class = make_class(teacher, internship)
    make_class(stranger, internship)  # teaches Internship too, but none of these students
    for student in (taught, player_only):
        join(student, player_class)
    for student in (newcomer, intern):
        join(student, intern_class)
    requests = {
        "player level 2": make_request(make_license(taught, player)),
        "player level 2, not in a class": make_request(make_license(outsider, player)),
        "internship level 2, in the Player class only": make_request(make_license(player_only, internship)),
        "internship level 2": make_request(make_license(intern, internship)),
    }
    with app.app_context():
        student = get(User, newcomer)
        selection = services.select_specialization(student, get(Specialization, internship), student)
        db.session.commit()
        db.session.refresh(selection.request)
        db.session.expunge(selection.request)
        requests["internship level 1"] = selection.request
    expected = {
        "teacher": {"player level 2", "internship level 2"},
        "stranger": set(),
        "admin": set(requests),
        "student": set(),
    }
    with app.app_context():
        reviewers = {"teacher": teacher, "stranger": stranger, "admin": admin, "student": taught}
        for name, user in reviewers.items():
            actor = get(User, user)
            in_python = {k for k, r in requests.items() if rules.may_review(actor, get(UpgradeRequest, r))}
            queue = {q.id for q in queries.review_queue(actor)}
            in_sql = {k for k, r in requests.items() if r.id in queue}
            assert in_python == expected[name], name
            assert in_sql == expected[name], name


def test_removal_committed_first_refuses_the_decision(
    app, make_user, player, make_license, make_request, make_class, join
):
    teacher, admin, student = make_user(Role.INSTRUCTOR), make_user(Role.ADMIN), make_user(Role.STUDENT)
    join(student, make_class(teacher, player))
    request = make_request(make_license(student, player))
    with app.app_context():
        admin_services.set_specializations(get(User, teacher), [], get(User, admin))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InstructorSpecialization)) == 0
        with pytest.raises(NotYours):
            reviews.approve_request(get(UpgradeRequest, request), get(User, teacher), note="late")
        db.session.rollback()
        assert get(UpgradeRequest, request).status == RequestStatus.PENDING
