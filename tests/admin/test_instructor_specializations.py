"""The specializations an admin assigns each instructor (SPEC §16): the user page's form,
``POST /admin/users/<id>/specializations``, its audit event and its refusals."""

from __future__ import annotations

import sqlalchemy as sa

from portal.admin import services as admin_services
from portal.audit import actions
from portal.extensions import db
from portal.licenses import rules
from portal.models import InstructorSpecialization, Klass, Specialization, User
from portal.models.user import Role
from tests.support.http import login
from tests.support.lookups import get


def taught_codes(app, user) -> list[str]:
    with app.app_context():
        return [s.code for s in rules.specializations_of(get(User, user), include_archived=True)]


def rows(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(InstructorSpecialization))


def url(user) -> str:
    return f"/admin/users/{user.id}/specializations"


def test_an_admin_assigns_and_removes_specializations(
    app, client, logged_admin, make_user, make_specialization, audit_events
):
    player = make_specialization("PLY", "Player")
    coach = make_specialization("COA", "Coach")
    make_specialization("INT", "Internship", auto_issue=False)
    teacher = make_user(Role.INSTRUCTOR, name="Carla Rivera")

    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "Specializations taught" in page and "None is assigned yet" in page
    assert f'name="specializations" value="{player.id}"' in page
    assert "can no longer review its requests" in page  # what removing one does
    assert "(Internship) is always decided by an admin" in page

    response = client.post(url(teacher), data={"specializations": [player.id, coach.id]})
    assert response.status_code == 303 and response.headers["Location"].endswith("#teaching")
    assert taught_codes(app, teacher) == ["COA", "PLY"]
    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "Carla Rivera now teaches Coach, Player" in page
    assert f'value="{player.id}" checked' in page and f'value="{coach.id}" checked' in page
    event = audit_events(actions.USER_SPECIALIZATIONS_CHANGED)[-1]
    assert event.actor_id == logged_admin.id
    assert (event.resource_type, event.resource_id) == ("user", str(teacher.id))
    assert event.details == {"before": [], "after": ["COA", "PLY"], "added": ["COA", "PLY"], "removed": []}
    with app.app_context():
        row = db.session.get(InstructorSpecialization, (teacher.id, player.id))
        assert row.assigned_by_id == logged_admin.id

    # Unticking every box removes them all; the same form sent again changes nothing.
    assert client.post(url(teacher), data={"specializations": [coach.id]}).status_code == 303
    event = audit_events(actions.USER_SPECIALIZATIONS_CHANGED)[-1]
    assert event.details == {"before": ["COA", "PLY"], "after": ["COA"], "added": [], "removed": ["PLY"]}
    mark = audit_events.mark()
    again = client.post(url(teacher), data={"specializations": [coach.id]}, follow_redirects=True)
    assert "Nothing changed" in again.get_data(as_text=True)
    assert audit_events.actions(since=mark) == []
    assert client.post(url(teacher), data={}).status_code == 303
    assert taught_codes(app, teacher) == []
    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "no longer teaches any specialization" in page


def test_removing_a_specialization_keeps_the_instructors_classes(
    app, client, logged_admin, make_user, make_specialization, make_class
):
    player = make_specialization("PLY", "Player")
    teacher = make_user(Role.INSTRUCTOR)
    klass = make_class(teacher, player, "Saturday squad")
    assert client.post(url(teacher), data={}).status_code == 303
    with app.app_context():
        assert db.session.get(Klass, klass.id).archived_at is None
    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert "Saturday squad" in page and "specialization not assigned" in page


def test_bad_input_is_refused_beside_the_field(app, client, logged_admin, make_user, make_specialization):
    player = make_specialization("PLY", "Player")
    old = make_specialization("OLD", "Old ways")
    with app.app_context():
        admin_services.archive_specialization(get(Specialization, old), get(User, logged_admin))
        db.session.commit()
    teacher = make_user(Role.INSTRUCTOR)
    for value, message in (
        (["999999"], "Choose specializations from the list."),
        (["abc"], "Choose specializations from the list."),
        ([str(2**70)], "Choose specializations from the list."),
        ([str(player.id), "-1"], "Choose specializations from the list."),
        ([str(old.id)], "Old ways is archived and cannot be assigned."),
    ):
        response = client.post(url(teacher), data={"specializations": value}, follow_redirects=True)
        assert response.status_code == 422, value
        body = response.get_data(as_text=True)
        assert 'id="specializations-error"' in body and message in body, value
    assert rows(app) == 0

    # Only instructors teach.
    student = make_user(Role.STUDENT, name="Sam Student")
    response = client.post(url(student), data={"specializations": [player.id]}, follow_redirects=True)
    assert response.status_code == 422
    assert "Sam Student is not an instructor" in response.get_data(as_text=True)
    assert rows(app) == 0
    assert client.post("/admin/users/999999/specializations", data={}).status_code == 404


def test_an_archived_specialization_already_held_can_stay_or_go(
    app, client, logged_admin, make_user, make_specialization, assign
):
    player = make_specialization("PLY", "Player")
    teacher = make_user(Role.INSTRUCTOR)
    assign(teacher, player)
    with app.app_context():
        admin_services.archive_specialization(get(Specialization, player), get(User, logged_admin))
        db.session.commit()
    page = client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)
    assert f'value="{player.id}" checked' in page and "Archived" in page
    assert client.post(url(teacher), data={"specializations": [player.id]}).status_code == 303
    assert taught_codes(app, teacher) == ["PLY"]
    assert client.post(url(teacher), data={}).status_code == 303
    assert taught_codes(app, teacher) == []


def test_only_admins_assign(app, client, make_user, make_specialization):
    player = make_specialization("PLY", "Player")
    teacher = make_user(Role.INSTRUCTOR)
    assert client.post(url(teacher), data={"specializations": [player.id]}).status_code == 302  # to the login
    for role in (Role.INSTRUCTOR, Role.STUDENT):
        other = app.test_client()
        login(other, make_user(role))
        assert other.post(url(teacher), data={"specializations": [player.id]}).status_code == 403
    # An instructor cannot assign themselves either.
    own = app.test_client()
    login(own, teacher)
    assert own.post(url(teacher), data={"specializations": [player.id]}).status_code == 403
    assert rows(app) == 0


def test_a_role_change_ends_the_assignments(
    app, client, logged_admin, make_user, make_specialization, assign, audit_events
):
    player = make_specialization("PLY", "Player")
    teacher = make_user(Role.INSTRUCTOR)
    assign(teacher, player)
    response = client.post(f"/admin/users/{teacher.id}/role", data={"role": "student", "reason": "Left"})
    assert response.status_code == 303
    assert taught_codes(app, teacher) == []
    event = audit_events(actions.USER_SPECIALIZATIONS_CHANGED)[-1]
    assert event.details["removed"] == ["PLY"] and event.details["cause"] == "role_changed"
    # Promoted again, they start from none.
    client.post(f"/admin/users/{teacher.id}/role", data={"role": "instructor", "reason": "Back"})
    assert taught_codes(app, teacher) == []
    assert "None is assigned yet" in client.get(f"/admin/users/{teacher.id}").get_data(as_text=True)


def test_the_section_is_for_instructors(client, logged_admin, make_user):
    student = make_user(Role.STUDENT)
    assert "Specializations taught" not in client.get(f"/admin/users/{student.id}").get_data(as_text=True)
