"""An instructor's class tools: edit and reopen, the roster file, the class report, bulk
confirmation, the instructor's view of one student; and an admin's level correction."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.classes import reports
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import certificates, reviews, state
from portal.models import ClassMembership, Klass, License, RequirementCompletion, User
from portal.models.catalogue import Level, Requirement
from portal.models.license import LicenseEvent
from tests.support.http import login


@pytest.fixture
def klass(make_class, teacher, spec):
    return make_class(teacher, spec, "Player autumn", "Mondays")


def requirement_ids(app, spec_id: int, number: int) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(Requirement.id).join(Level)
            .where(Level.specialization_id == spec_id, Level.number == number)
            .order_by(Requirement.position)))


def student_in(app, make_user, join, klass, name: str, **kwargs):
    user = make_user("student", name=name, **kwargs)
    join(user, klass)
    return user


# -- edit and reopen ----------------------------------------------------------------------


def test_edit_keeps_the_join_code_and_is_audited(app, client, teacher, klass, audit_events):
    login(client, teacher)
    page = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert f'action="/dashboard/classes/{klass.id}/edit"' in page and "Player autumn" in page
    response = client.post(f"/dashboard/classes/{klass.id}/edit",
                           data={"name": " Player spring ", "description": "Tuesdays"})
    assert response.status_code == 303
    with app.app_context():
        saved = db.session.get(Klass, klass.id)
        assert (saved.name, saved.description) == ("Player spring", "Tuesdays")
        assert saved.join_code == klass.join_code
    [event] = audit_events(actions.CLASS_UPDATED)
    assert event.details["before"] == {"name": "Player autumn", "description": "Mondays"}
    assert event.details["after"] == {"name": "Player spring", "description": "Tuesdays"}
    # Saving the same again records nothing.
    client.post(f"/dashboard/classes/{klass.id}/edit",
                data={"name": "Player spring", "description": "Tuesdays"})
    assert len(audit_events(actions.CLASS_UPDATED)) == 1


def test_edit_errors_stand_beside_the_field(app, client, teacher, klass, audit_events):
    login(client, teacher)
    refused = client.post(f"/dashboard/classes/{klass.id}/edit", data={"name": "", "description": "x"},
                          follow_redirects=True)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="edit_name-error"' in body
    too_long = client.post(f"/dashboard/classes/{klass.id}/edit", data={"name": "x" * 121},
                           follow_redirects=True)
    assert too_long.status_code == 422
    with app.app_context():
        assert db.session.get(Klass, klass.id).name == "Player autumn"
    assert audit_events(actions.CLASS_UPDATED) == []


def test_only_the_classes_teacher_edits(app, client, make_user, assign, spec, klass):
    other = make_user("instructor")
    assign(other, spec)
    login(client, other)
    assert client.post(f"/dashboard/classes/{klass.id}/edit", data={"name": "Mine"}).status_code == 404
    assert client.post(f"/dashboard/classes/{klass.id}/unarchive").status_code == 404


def test_unarchive_reopens_with_the_same_code(app, client, teacher, klass, make_user, join, audit_events):
    login(client, teacher)
    assert client.post(f"/dashboard/classes/{klass.id}/unarchive").status_code == 409  # not archived
    assert client.post(f"/dashboard/classes/{klass.id}/archive").status_code == 303
    page = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert f"/dashboard/classes/{klass.id}/unarchive" in page
    assert client.post(f"/dashboard/classes/{klass.id}/unarchive").status_code == 303
    with app.app_context():
        saved = db.session.get(Klass, klass.id)
        assert saved.archived_at is None and saved.join_code == klass.join_code
    [event] = audit_events(actions.CLASS_UNARCHIVED)
    assert event.details["after"] == {"archived_at": None} and event.details["before"]["archived_at"]
    assert join(make_user("student"), klass).id == klass.id  # the code works again


# -- the roster file ----------------------------------------------------------------------


def test_roster_file_is_escaped_and_complete(app, client, teacher, spec, klass, make_user, join,
                                             make_license):
    evil = student_in(app, make_user, join, klass, "=HYPERLINK(\"http://x\")")
    plain = student_in(app, make_user, join, klass, "Ana, \"Ani\" López")
    make_license(plain, spec, 1)
    level2 = requirement_ids(app, spec.id, 2)
    with app.app_context():
        db.session.add(RequirementCompletion(user_id=plain.id, requirement_id=level2[0],
                                             confirmed_by_id=teacher.id))
        db.session.commit()
    login(client, teacher)
    response = client.get(f"/dashboard/classes/{klass.id}/roster.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header = rows[0]
    assert header[:5] == ["name", "email", "level", "status", "joined"]
    assert len(header) == 5 + 6  # two requirements on each of three levels
    by_name = {row[0]: row for row in rows[1:]}
    assert "'=HYPERLINK(\"http://x\")" in by_name and evil.name not in by_name
    ana = by_name["Ana, \"Ani\" López"]
    assert ana[1:4] == [plain.email, "1", "active"]
    assert ana[5:] == ["", "", "confirmed", "", "", ""]
    assert by_name["'=HYPERLINK(\"http://x\")"][2:4] == ["", ""]


# -- the class report ---------------------------------------------------------------------


def test_report_counts_a_hand_made_class(app, client, teacher, spec, klass, make_user, join, make_license):
    """Three students: A has both level-1 requirements, B one, C none and idle for 40 days."""
    a = student_in(app, make_user, join, klass, "Ada")
    b = student_in(app, make_user, join, klass, "Bea")
    c = student_in(app, make_user, join, klass, "Cyd")
    level1, level2 = requirement_ids(app, spec.id, 1), requirement_ids(app, spec.id, 2)
    with app.app_context():
        for user, req in ((a, level1[0]), (a, level1[1]), (b, level1[0]), (b, level2[1])):
            db.session.add(RequirementCompletion(user_id=user.id, requirement_id=req,
                                                 confirmed_by_id=teacher.id))
        db.session.execute(sa.update(ClassMembership).where(ClassMembership.user_id == c.id)
                           .values(joined_at=utcnow() - timedelta(days=40)))
        db.session.commit()
        report = reports.class_report(db.session.get(Klass, klass.id))
        assert report.students == 3
        assert [[rc.confirmed for rc in lc.requirements] for lc in report.levels] == [[2, 1], [0, 1], [0, 0]]
        assert [i.student.id for i in report.idle] == [c.id]
        assert report.chart()["level_1"]["values"] == [2, 1]
    license = make_license(b, spec, 1)
    with app.app_context():
        reviews.request_upgrade(db.session.get(License, license.id), "Ready", db.session.get(User, b.id))
        db.session.commit()
    login(client, teacher)
    page = client.get(f"/dashboard/classes/{klass.id}/report").get_data(as_text=True)
    assert "chart.umd.min.js" in page and 'data-chart="level_1"' in page
    assert "2 of 3" in page and "1 of 3" in page  # the table beside the chart
    assert 'id="idle-students"' in page and "Cyd" in page.split('id="idle-students"')[1].split("</table>")[0]
    waiting = page.split('id="waiting-requests"')[1].split("</table>")[0]
    assert "Bea" in waiting and "Ada" not in waiting
    assert "data-print" in page


# -- bulk confirmation --------------------------------------------------------------------


def test_bulk_confirm_one_event_per_student(app, client, teacher, spec, klass, make_user, join,
                                           audit_events, make_specialization):
    students = [student_in(app, make_user, join, klass, f"Student {i}") for i in range(3)]
    outsider = make_user("student")
    req = requirement_ids(app, spec.id, 1)[0]
    login(client, teacher)
    page = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert 'id="bulk-confirm"' in page and 'form="bulk-confirm"' in page and "data-select-all" in page
    chosen = [students[0].id, students[2].id]
    response = client.post(f"/dashboard/classes/{klass.id}/requirements/bulk",
                           data={"requirement": req, "student": chosen})
    assert response.status_code == 303
    events = audit_events(actions.REQUIREMENT_CONFIRMED)
    assert sorted(e.details["student_id"] for e in events) == sorted(chosen)
    # Someone outside the class: nothing at all is confirmed.
    response = client.post(f"/dashboard/classes/{klass.id}/requirements/bulk",
                           data={"requirement": req, "student": [students[1].id, outsider.id]})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequirementCompletion)) == 2
    # A requirement of another specialization is refused.
    other = requirement_ids(app, make_specialization("REF").id, 1)[0]
    refused = client.post(f"/dashboard/classes/{klass.id}/requirements/bulk",
                          data={"requirement": other, "student": [students[1].id]}, follow_redirects=True)
    assert "Choose one of this class&#39;s requirements." in refused.get_data(as_text=True)
    assert len(audit_events(actions.REQUIREMENT_CONFIRMED)) == 2


# -- the instructor's view of a student ---------------------------------------------------


def test_instructor_sees_only_the_specializations_taught(
    app, client, teacher, spec, klass, make_user, join, make_license, make_specialization
):
    other_spec = make_specialization("REF", "Referee")
    student = student_in(app, make_user, join, klass, "Dora")
    mine = make_license(student, spec, 1)
    theirs = make_license(student, other_spec, 2)
    login(client, teacher)
    page = client.get(f"/dashboard/classes/{klass.id}/students/{student.id}").get_data(as_text=True)
    assert mine.code in page and theirs.code not in page and "Referee" not in page
    # The license page of the other specialization was visible before: now a 404.
    assert client.get(f"/licenses/{mine.id}").status_code == 200
    assert client.get(f"/licenses/{theirs.id}").status_code == 404
    stranger = make_user("student")
    assert client.get(f"/dashboard/classes/{klass.id}/students/{stranger.id}").status_code == 404


# -- admin level correction ---------------------------------------------------------------


def test_set_level_down_and_up(app, client, logged_admin, make_user, spec, make_license, audit_events):
    license = make_license(make_user(), spec, 3)
    with app.app_context():
        old = db.session.get(License, license.id)
        old_signature, old_key = old.signature, certificates.cache_key(old)
    page = client.get(f"/admin/licenses/{license.id}").get_data(as_text=True)
    assert f"/admin/licenses/{license.id}/set-level" in page
    response = client.post(f"/admin/licenses/{license.id}/set-level", data={"level": 1, "reason": "Typo"})
    assert response.status_code == 303
    with app.app_context():
        saved = db.session.get(License, license.id)
        assert saved.level == 1 and saved.signature != old_signature
        assert state.check(saved)
        assert certificates.cache_key(saved) != old_key  # the certificate is made again
        last = db.session.scalar(sa.select(LicenseEvent).where(LicenseEvent.license_id == license.id)
                                 .order_by(LicenseEvent.seq.desc()).limit(1))
        assert (last.kind, last.level, last.note) == ("level_set", 1, "Typo")
    [event] = audit_events(actions.LICENSE_LEVEL_SET)
    assert (event.details["before"], event.details["after"]) == ({"level": 3}, {"level": 1})
    assert client.post(f"/admin/licenses/{license.id}/set-level",
                       data={"level": 2, "reason": "Passed"}).status_code == 303
    assert "<strong>level set</strong>" in client.get(f"/admin/licenses/{license.id}").get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"level": 4, "reason": "x"}, "Choose a level from 1 to 3."),
    ({"level": 0, "reason": "x"}, "Number must be between"),
    ({"level": 2, "reason": "x"}, "already at level 2"),
    ({"level": 1, "reason": ""}, "This field is required."),
    ({"level": "two", "reason": "x"}, "Not a valid integer value."),
])
def test_set_level_refusals(app, client, logged_admin, make_user, spec, make_license, audit_events, data,
                            message):
    license = make_license(make_user(), spec, 2)
    response = client.post(f"/admin/licenses/{license.id}/set-level", data=data, follow_redirects=True)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert audit_events(actions.LICENSE_LEVEL_SET) == []


def test_set_level_refused_for_a_revoked_license(app, client, logged_admin, make_user, spec, make_license,
                                                 audit_events):
    license = make_license(make_user(), spec, 2)
    client.post(f"/admin/licenses/{license.id}/revoke", data={"reason_category": "fraud", "note": "x"})
    response = client.post(f"/admin/licenses/{license.id}/set-level", data={"level": 1, "reason": "x"},
                           follow_redirects=True)
    assert response.status_code == 422
    assert "revoked license cannot be corrected" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(License, license.id).level == 2
    assert audit_events(actions.LICENSE_LEVEL_SET) == []


def test_instructors_cannot_set_levels(client, teacher, make_user, spec, make_license):
    license = make_license(make_user(), spec, 2)
    login(client, teacher)
    response = client.post(f"/admin/licenses/{license.id}/set-level", data={"level": 1, "reason": "x"})
    assert response.status_code == 403
