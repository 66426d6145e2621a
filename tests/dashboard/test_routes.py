"""Class pages: create, roster (search, confirmations, removal, codes), join, leave."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.classes import services as class_services
from portal.classes.services import ClassError
from portal.db import utcnow
from portal.extensions import db
from portal.models import AuditEvent, ClassMembership, Klass, RequirementCompletion, User
from portal.models.catalogue import Level, Requirement, Specialization
from tests.support.http import login

HTMX = {"HX-Request": "true"}


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def level_requirements(spec_id: int, number: int) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(Requirement.id)
            .join(Level)
            .where(Level.specialization_id == spec_id, Level.number == number)
            .order_by(Requirement.position)
        )
    )


def assert_partial(response):
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "HX-Request" in response.headers.get("Vary", "")
    return body


@pytest.fixture
def klass(make_class, teacher, spec):
    return make_class(teacher, spec, "Player autumn")


def test_instructor_creates_a_class(app, client, teacher, spec):
    login(client, teacher)
    page = client.get("/dashboard/classes").get_data(as_text=True)
    assert 'name="name"' in page and 'name="specialization"' in page and 'name="description"' in page
    response = client.post(
        "/dashboard/classes",
        data={"name": "Player spring", "specialization": spec.id, "description": "Mondays"},
    )
    assert response.status_code == 303
    with app.app_context():
        made = db.session.scalar(sa.select(Klass))
        assert (made.name, made.description, made.instructor_id) == ("Player spring", "Mondays", teacher.id)
        assert response.headers["Location"].endswith(f"/dashboard/classes/{made.id}")
        code = made.join_code
    roster = client.get(response.headers["Location"]).get_data(as_text=True)
    assert code in roster and "Player spring" in roster


def test_create_class_form_errors_keep_what_was_typed(app, client, teacher, spec):
    login(client, teacher)
    response = client.post(
        "/dashboard/classes", data={"name": "", "specialization": spec.id, "description": "Kept text"}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "field-error" in body and "Kept text" in body
    response = client.post("/dashboard/classes", data={"name": "X", "specialization": "999"})
    assert response.status_code == 422
    with app.app_context():
        assert count(Klass) == 0


def test_classes_are_created_only_in_the_specializations_taught(
    app, client, teacher, spec, make_specialization, make_user, assign
):
    coach = make_specialization("COA", "Coach")
    old = make_specialization("OLD", "Old ways")
    assign(teacher, old)
    with app.app_context():
        db.session.get(Specialization, old.id).archived_at = utcnow()
        db.session.commit()
    login(client, teacher)
    page = client.get("/dashboard/classes").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="(\d+)"', page)
    assert options == [str(spec.id)]  # not Coach (not taught), not Old ways (archived)
    assert "You teach Player" in page
    for forged in (coach.id, old.id, 2**40):
        response = client.post("/dashboard/classes", data={"name": "Side door", "specialization": forged})
        assert response.status_code == 422, forged
        body = response.get_data(as_text=True)
        assert "field-error" in body and "Choose one of the specializations you teach" in body
        assert "Side door" in body  # what was typed is kept
    with app.app_context():
        assert count(Klass) == 0


def test_the_service_refuses_a_specialization_not_taught(app, teacher, make_specialization):
    coach = make_specialization("COA", "Coach")
    with app.app_context():
        t = db.session.get(User, teacher.id)
        with pytest.raises(ClassError, match="You do not teach Coach") as refused:
            class_services.create_class(t, "Side door", db.session.get(Specialization, coach.id), actor=t)
        assert refused.value.field == "specialization"


def test_an_instructor_without_specializations_is_told_an_admin_assigns_them(app, client, make_user, spec):
    newcomer = make_user("instructor")
    login(client, newcomer)
    page = client.get("/dashboard/classes").get_data(as_text=True)
    assert 'id="no-specializations"' in page and "An admin must assign you" in page
    assert 'name="specialization"' not in page
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "No specialization is assigned to you yet" in dashboard
    refused = client.post("/dashboard/classes", data={"name": "Mine", "specialization": spec.id})
    assert refused.status_code == 422 and "An admin must assign you" in refused.get_data(as_text=True)
    with app.app_context():
        assert count(Klass) == 0


def test_students_and_admins_cannot_create_classes(app, client, make_user, spec, klass, join):
    student = make_user("student")
    join(student, klass)
    login(client, student)
    refused = client.post("/dashboard/classes", data={"name": "Mine", "specialization": spec.id})
    assert refused.status_code == 403
    page = client.get("/dashboard/classes").get_data(as_text=True)
    assert "Player autumn" in page and "Leave" in page and 'name="name"' not in page
    client.post("/auth/logout")
    login(client, make_user("admin"))
    assert client.post("/dashboard/classes", data={"name": "A", "specialization": spec.id}).status_code == 403
    with app.app_context():
        assert count(Klass) == 1


def test_admin_sees_every_class_instructor_only_theirs(client, make_user, make_class, spec, klass):
    other = make_user("instructor", name="Daniel Okafor")
    theirs = make_class(other, spec, "Okafor group")
    login(client, other)
    page = client.get("/dashboard/classes").get_data(as_text=True)
    assert "Okafor group" in page and "Player autumn" not in page
    client.post("/auth/logout")
    login(client, make_user("admin"))
    page = client.get("/dashboard/classes").get_data(as_text=True)
    assert "Okafor group" in page and "Player autumn" in page
    assert client.get(f"/dashboard/classes/{theirs.id}").status_code == 200


def test_another_instructors_roster_is_404_and_denied(app, client, make_user, klass, audit_events):
    login(client, make_user("instructor"))
    assert client.get(f"/dashboard/classes/{klass.id}").status_code == 404
    assert client.post(f"/dashboard/classes/{klass.id}/rotate-code").status_code == 404
    assert client.get("/dashboard/classes/99999").status_code == 404
    with app.app_context():
        denied = audit_events(actions.ACCESS_DENIED)
        # One source, one reason, one hour: recorded once, with its count (portal.errors).
        assert [(e.details.get("reason"), e.details.get("count")) for e in denied] == [("not_owner", 1)]


def test_students_cannot_see_rosters(client, make_user, klass, join):
    student = make_user("student")
    join(student, klass)
    login(client, student)
    assert client.get(f"/dashboard/classes/{klass.id}").status_code == 403


def test_roster_search_page_and_htmx(client, teacher, klass, make_user, join):
    for name in ("Maya Lindqvist", "Liam O'Connor", "Emma Dubois"):
        join(make_user("student", name=name), klass)
    login(client, teacher)
    page = client.get(f"/dashboard/classes/{klass.id}?q=lind").get_data(as_text=True)
    assert "Maya Lindqvist" in page and "Emma Dubois" not in page
    assert 'value="lind"' in page  # the box keeps the search
    response = client.get(f"/dashboard/classes/{klass.id}?q=dubois", headers=HTMX)
    body = assert_partial(response)
    assert 'id="roster"' in body and "Emma Dubois" in body and "Maya" not in body
    body = client.get(f"/dashboard/classes/{klass.id}?q=%25", headers=HTMX).get_data(as_text=True)
    assert "No student matches" in body  # wildcards are searched literally


def test_requirements_form_without_javascript(
    app, client, teacher, klass, spec, make_user, join, make_license
):
    student = make_user("student")
    join(student, klass)
    make_license(student, spec, 1)
    with app.app_context():
        r1, r2 = level_requirements(spec.id, 2)
    login(client, teacher)
    url = f"/dashboard/classes/{klass.id}/students/{student.id}/requirements"
    response = client.post(url, data={"shown": [r1, r2], "requirement": [r1, r2]})
    assert response.status_code == 303
    assert f"/dashboard/classes/{klass.id}" in response.headers["Location"]
    with app.app_context():
        assert count(RequirementCompletion, RequirementCompletion.user_id == student.id) == 2
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 of 2 requirements for level 2" in page
    client.post(url, data={"shown": [r1, r2], "requirement": [r2]})
    with app.app_context():
        done = db.session.scalars(sa.select(RequirementCompletion.requirement_id)).all()
        assert done == [r2]
        actions_done = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("requirement.%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert actions_done == ["requirement.confirmed", "requirement.confirmed", "requirement.unconfirmed"]


def test_requirement_checkbox_with_htmx_returns_the_row(app, client, teacher, klass, spec, make_user, join):
    student = make_user("student", name="Noah Becker")
    join(student, klass)  # no license yet: working toward level 1
    with app.app_context():
        r1, r2 = level_requirements(spec.id, 1)
    login(client, teacher)
    response = client.post(
        f"/dashboard/classes/{klass.id}/students/{student.id}/requirements",
        data={"shown": [r1, r2], "requirement": [r1]},
        headers=HTMX,
    )
    assert response.status_code == 200
    body = assert_partial(response)
    assert body.lstrip().startswith(f'<tr id="student-{student.id}"')
    assert "1 of 2 requirements for level 1" in body and "Saved" in body


def test_a_stale_form_does_not_undo_the_next_levels_confirmations(
    app, client, teacher, klass, spec, make_user, join, make_license
):
    student = make_user("student")
    join(student, klass)
    make_license(student, spec, 2)  # the form below was shown while the student was level 1
    with app.app_context():
        old = level_requirements(spec.id, 2)
        current = level_requirements(spec.id, 3)
    login(client, teacher)
    url = f"/dashboard/classes/{klass.id}/students/{student.id}/requirements"
    client.post(url, data={"shown": current, "requirement": current[:1]})
    client.post(url, data={"shown": old, "requirement": []})  # the stale form
    with app.app_context():
        assert db.session.scalars(sa.select(RequirementCompletion.requirement_id)).all() == current[:1]


def test_requirements_of_a_non_member_are_404(client, teacher, klass, make_user):
    stranger = make_user("student")
    login(client, teacher)
    response = client.post(f"/dashboard/classes/{klass.id}/students/{stranger.id}/requirements", data={})
    assert response.status_code == 404


def test_remove_student(app, client, teacher, klass, make_user, join, audit_events):
    student = make_user("student")
    join(student, klass)
    login(client, teacher)
    response = client.post(f"/dashboard/classes/{klass.id}/students/{student.id}/remove")
    assert response.status_code == 303
    with app.app_context():
        assert count(ClassMembership) == 0
        [event] = audit_events(actions.CLASS_STUDENT_REMOVED)
        assert event.details["student_id"] == student.id
    again = client.post(f"/dashboard/classes/{klass.id}/students/{student.id}/remove")
    assert again.status_code == 404


def test_rotate_code_plain_and_htmx(app, client, teacher, klass):
    login(client, teacher)
    response = client.post(f"/dashboard/classes/{klass.id}/rotate-code")
    assert response.status_code == 303
    with app.app_context():
        first = db.session.get(Klass, klass.id).join_code
    assert first != klass.join_code
    response = client.post(f"/dashboard/classes/{klass.id}/rotate-code", headers=HTMX)
    body = assert_partial(response)
    with app.app_context():
        second = db.session.get(Klass, klass.id).join_code
    assert second != first and second in body and 'id="join-code"' in body


def test_archive_class(app, client, teacher, klass):
    login(client, teacher)
    assert client.post(f"/dashboard/classes/{klass.id}/archive").status_code == 303
    page = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert "Archived" in page and klass.join_code not in page
    assert client.post(f"/dashboard/classes/{klass.id}/archive").status_code == 409


def test_join_page_good_bad_and_twice(app, client, klass, make_user):
    student = make_user("student")
    login(client, student)
    page = client.get("/dashboard/join").get_data(as_text=True)
    assert 'name="join_code"' in page
    bad = client.post("/dashboard/join", data={"join_code": "ply-xxxx-xxxx-xxxx"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "field-error" in body and "ply-xxxx-xxxx-xxxx" in body and "does not work" in body
    typed = " " + klass.join_code.lower().replace("-", "  ") + " "
    good = client.post("/dashboard/join", data={"join_code": typed})
    assert good.status_code == 303 and good.headers["Location"].endswith("/dashboard")
    assert "Welcome to Player autumn" in client.get("/dashboard").get_data(as_text=True)
    twice = client.post("/dashboard/join", data={"join_code": klass.join_code}, follow_redirects=True)
    assert "already in Player autumn" in twice.get_data(as_text=True)
    with app.app_context():
        assert count(ClassMembership) == 1


def test_join_with_htmx(client, klass, make_user):
    login(client, make_user("student"))
    bad = client.post("/dashboard/join", data={"join_code": "nope"}, headers=HTMX)
    assert bad.status_code == 422
    body = assert_partial(bad)
    assert 'id="join-form"' in body and "twelve letters and digits" in body
    good = client.post("/dashboard/join", data={"join_code": klass.join_code}, headers=HTMX)
    assert good.headers.get("HX-Redirect") == "/dashboard"


def test_join_is_for_students(client, teacher):
    login(client, teacher)
    assert client.get("/dashboard/join").status_code == 403


def test_leave_class(app, client, klass, make_user, join, audit_events):
    student = make_user("student")
    join(student, klass)
    login(client, student)
    response = client.post(f"/dashboard/classes/{klass.id}/leave")
    assert response.status_code == 303
    with app.app_context():
        assert count(ClassMembership) == 0
        assert len(audit_events(actions.CLASS_LEFT)) == 1
    assert client.post(f"/dashboard/classes/{klass.id}/leave").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/classes/{k}/rotate-code",
        "/dashboard/classes/{k}/archive",
        "/dashboard/classes/{k}/students/{s}/remove",
        "/dashboard/classes/{k}/students/{s}/requirements",
    ],
)
def test_students_cannot_manage_a_class(app, client, klass, make_user, join, path):
    student = make_user("student")
    join(student, klass)
    login(client, student)
    assert client.post(path.format(k=klass.id, s=student.id)).status_code == 403
    with app.app_context():
        assert count(ClassMembership) == 1
        assert db.session.get(Klass, klass.id).join_code == klass.join_code


def test_roster_pages(client, teacher, klass, fill_class):
    fill_class(klass, 55)
    login(client, teacher)
    first = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert first.count('<tr id="student-') == 50 and "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get(f"/dashboard/classes/{klass.id}?page=2").get_data(as_text=True)
    assert second.count('<tr id="student-') == 5 and 'rel="prev"' in second
    # Out-of-range pages show the last page rather than an error.
    assert client.get(f"/dashboard/classes/{klass.id}?page=99").get_data(as_text=True).count("<tr id=") == 5


def test_htmx_requirement_post_needs_the_csrf_header(app_factory, make_user, spec, make_class, join):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    teacher = make_user("instructor")
    klass = make_class(teacher, spec)
    student = make_user("student")
    join(student, klass)
    login(client, teacher)
    with app.app_context():
        r1, r2 = level_requirements(spec.id, 1)
    url = f"/dashboard/classes/{klass.id}/students/{student.id}/requirements"
    data = {"shown": [r1, r2], "requirement": [r1]}
    assert client.post(url, data=data, headers=HTMX).status_code == 400
    page = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = client.post(url, data=data, headers={**HTMX, "X-CSRFToken": token})
    assert response.status_code == 200
    with app.app_context():
        assert count(RequirementCompletion) == 1
