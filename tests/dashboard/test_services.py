"""Class services: codes, joining, leaving, removal, requirement confirmations."""
from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.classes import queries, services
from portal.extensions import db
from portal.licenses import rules
from portal.models import ClassMembership, Klass, ReplacedJoinCode, RequirementCompletion, User
from portal.models.catalogue import Level, Requirement, Specialization


def requirement(spec_id: int, level: int, position: int = 0) -> Requirement:
    return db.session.scalars(
        sa.select(Requirement)
        .join(Level)
        .where(Level.specialization_id == spec_id, Level.number == level)
        .order_by(Requirement.position)
    ).all()[position]


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)


@pytest.fixture
def teacher(make_user, assign, spec):
    """An instructor an admin assigned Player."""
    user = make_user("instructor")
    assign(user, spec)
    return user


def test_create_class_gives_a_readable_unique_code(app, spec, teacher, audit_events):
    with app.app_context():
        t = db.session.get(User, teacher.id)
        s = db.session.get(Specialization, spec.id)
        made = [services.create_class(t, f"Group {i}", s, "Tuesdays", actor=t) for i in range(30)]
        db.session.commit()
        codes = [k.join_code for k in made]
        assert len(set(codes)) == 30
        for code in codes:
            assert re.fullmatch(r"PLY(-[ACDEFGHJKMNPQRTUVWXY34679]{4}){3}", code)
            assert not set(code[4:]) & set("0O1IL2Z5S8B")
        created = audit_events(actions.CLASS_CREATED)
        assert len(created) == 30
        assert created[0].actor_id == teacher.id
        assert created[0].details["specialization"] == "PLY"
        assert created[0].resource_type == "class"


def test_code_collision_is_retried(app, spec, teacher, monkeypatch):
    with app.app_context():
        t = db.session.get(User, teacher.id)
        s = db.session.get(Specialization, spec.id)
        first = services.create_class(t, "One", s, actor=t)
        db.session.flush()
        planned = iter([first.join_code, first.join_code, "PLY-AAAA-CCCC-DDDD"])
        monkeypatch.setattr(services, "new_join_code", lambda _spec: next(planned))
        second = services.create_class(t, "Two", s, actor=t)
        db.session.commit()
        assert second.join_code == "PLY-AAAA-CCCC-DDDD"


def test_students_cannot_run_classes(app, spec, make_user):
    student = make_user("student")
    with app.app_context():
        s = db.session.get(Specialization, spec.id)
        u = db.session.get(User, student.id)
        with pytest.raises(services.NotAllowed):
            services.create_class(u, "Mine", s, actor=u)


def test_normalise_join_code_forgives_case_spaces_and_dashes():
    assert services.normalise_join_code(" ply 4kdq-9xtr m7ca ") == "PLY-4KDQ-9XTR-M7CA"
    assert services.normalise_join_code("ply–4kdq—9xtr–m7ca") == "PLY-4KDQ-9XTR-M7CA"
    assert services.normalise_join_code("PLY4KDQ9XTRM7CA") == "PLY-4KDQ-9XTR-M7CA"
    # The shorter codes handed out before come out in their own shape.
    assert services.normalise_join_code(" ply 4kd-9qx ") == "PLY-4KD-9QX"


def test_join_good_twice_and_audited(app, spec, teacher, make_user, make_class, audit_events):
    klass = make_class(teacher, spec, "Autumn")
    student = make_user("student")
    typed = klass.join_code.lower().replace("-", " ")
    with app.app_context():
        u = db.session.get(User, student.id)
        joined, now = services.join_class(u, typed, actor=u)
        assert (joined.id, now) == (klass.id, True)
        again, now_again = services.join_class(u, klass.join_code, actor=u)
        assert (again.id, now_again) == (klass.id, False)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(ClassMembership.id))) == 1
        joined_events = audit_events(actions.CLASS_JOINED)
        assert len(joined_events) == 1
        assert joined_events[0].actor_id == student.id
        assert joined_events[0].resource_id == str(klass.id)


@pytest.mark.parametrize(
    "typed, message",
    [
        ("PLY-AAAA-AAAA-AAAA", "does not work"),
        ("PLY-AAA-AAA", "does not work"),
        ("hello", "twelve letters and digits"),
        ("", "twelve letters and digits"),
    ],
)
def test_join_unknown_code(app, spec, teacher, make_user, make_class, typed, message):
    make_class(teacher, spec)
    student = make_user("student")
    with app.app_context():
        u = db.session.get(User, student.id)
        with pytest.raises(services.ClassError, match=message):
            services.join_class(u, typed, actor=u)


def test_rotated_code_stops_working(app, spec, teacher, make_user, make_class, audit_events):
    klass = make_class(teacher, spec)
    student = make_user("student")
    with app.app_context():
        k = db.session.get(Klass, klass.id)
        t = db.session.get(User, teacher.id)
        new = services.rotate_code(k, actor=t)
        db.session.commit()
        assert new != klass.join_code
        rotated = audit_events(actions.CLASS_CODE_ROTATED)
        assert rotated[0].details == {"old_code": klass.join_code, "new_code": new}
        u = db.session.get(User, student.id)
        # Answered as a code no class has: a guess learns nothing from the message.
        with pytest.raises(services.ClassError, match=re.escape(str(services.UNKNOWN_CODE))):
            services.join_class(u, klass.join_code, actor=u)
        joined, _ = services.join_class(u, new, actor=u)
        assert joined.id == klass.id


def test_a_replaced_code_is_never_handed_out_again(app, spec, teacher, make_class, monkeypatch):
    klass = make_class(teacher, spec)
    with app.app_context():
        k = db.session.get(Klass, klass.id)
        t = db.session.get(User, teacher.id)
        services.rotate_code(k, actor=t)
        db.session.commit()
        assert db.session.get(ReplacedJoinCode, klass.join_code).class_id == klass.id
        offered = iter([klass.join_code, "PLY-AAAA-CCCC-DDDD"])
        monkeypatch.setattr(services, "new_join_code", lambda spec: next(offered))
        assert services.rotate_code(k, actor=t) == "PLY-AAAA-CCCC-DDDD"


def test_archived_class_refuses_joins_and_rotation(app, spec, teacher, make_user, make_class, audit_events):
    klass = make_class(teacher, spec)
    student = make_user("student")
    with app.app_context():
        k = db.session.get(Klass, klass.id)
        t = db.session.get(User, teacher.id)
        services.archive_class(k, actor=t)
        db.session.commit()
        assert len(audit_events(actions.CLASS_ARCHIVED)) == 1
        u = db.session.get(User, student.id)
        with pytest.raises(services.ClassError, match="archived"):
            services.join_class(u, klass.join_code, actor=u)
        with pytest.raises(services.ClassError):
            services.rotate_code(k, actor=t)
        with pytest.raises(services.ClassError):
            services.archive_class(k, actor=t)


def test_simultaneous_joins_make_one_membership(app, spec, teacher, make_user, make_class, audit_events):
    klass = make_class(teacher, spec)
    student = make_user("student")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def attempt():
        try:
            with app.app_context():
                barrier.wait()  # all start together (before any transaction begins)
                u = db.session.get(User, student.id)
                _, now = services.join_class(u, klass.join_code, actor=u)
                db.session.commit()
                results.append(now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(results) == [False, False, False, True]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ClassMembership.id))) == 1
        assert len(audit_events(actions.CLASS_JOINED)) == 1


def test_leave_and_remove(app, spec, teacher, make_user, make_class, join, audit_events):
    klass = make_class(teacher, spec)
    a, b = make_user("student"), make_user("student")
    join(a, klass)
    join(b, klass)
    with app.app_context():
        k = db.session.get(Klass, klass.id)
        ua, ub = db.session.get(User, a.id), db.session.get(User, b.id)
        services.leave_class(ua, k, actor=ua)
        services.remove_student(k, ub, actor=db.session.get(User, teacher.id))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(ClassMembership.id))) == 0
        (left,) = audit_events(actions.CLASS_LEFT)
        assert left.actor_id == a.id and left.details["student_id"] == a.id
        (removed,) = audit_events(actions.CLASS_STUDENT_REMOVED)
        assert removed.actor_id == teacher.id and removed.details["student_id"] == b.id
        with pytest.raises(services.ClassError):
            services.leave_class(ua, k, actor=ua)


def test_confirm_and_unconfirm_move_progress(app, spec, teacher, make_user, make_class, join, make_license,
                                             audit_events):
    klass = make_class(teacher, spec)
    student = make_user("student")
    join(student, klass)
    make_license(student, spec, 1)
    with app.app_context():
        k = queries.class_for_viewer(klass.id)
        t = db.session.get(User, teacher.id)
        u = db.session.get(User, student.id)
        r1, r2 = requirement(spec.id, 2, 0), requirement(spec.id, 2, 1)
        assert queries.roster(k).rows[0].progress.done == 0
        assert services.confirm_requirement(u, r1, actor=t) is True
        assert services.confirm_requirement(u, r1, actor=t) is False  # harmless twice
        row = queries.roster(k).rows[0]
        assert (row.progress.next_level, row.progress.done, row.progress.total) == (2, 1, 2)
        services.confirm_requirement(u, r2, actor=t)
        assert queries.roster(k).rows[0].progress.complete
        assert services.unconfirm_requirement(u, r2, actor=t) is True
        assert services.unconfirm_requirement(u, r2, actor=t) is False
        db.session.commit()
        assert queries.roster(k).rows[0].progress.done == 1
        confirmed = audit_events(actions.REQUIREMENT_CONFIRMED)
        assert [e.details["student_id"] for e in confirmed] == [student.id, student.id]
        assert confirmed[0].resource_type == "requirement"
        (undone,) = audit_events(actions.REQUIREMENT_UNCONFIRMED)
        assert undone.resource_id == str(r2.id) and undone.actor_id == teacher.id
        # The license review sees the same confirmations.
        status = rules.requirement_rows([(u.id, spec.id, 2)])[(u.id, spec.id, 2)]
        assert [c is not None for _, c in status] == [True, False]


def test_only_the_students_instructor_may_confirm(
    app, spec, teacher, make_user, make_class, join, make_specialization
):
    klass = make_class(teacher, spec)
    other_teacher = make_user("instructor")
    other_spec = make_specialization("CCH", "Coach")
    make_class(other_teacher, other_spec)
    student, stranger = make_user("student"), make_user("student")
    join(student, klass)
    admin = make_user("admin")
    with app.app_context():
        r = requirement(spec.id, 1)
        u, s = db.session.get(User, student.id), db.session.get(User, stranger.id)
        with pytest.raises(services.NotAllowed):
            services.confirm_requirement(u, r, actor=db.session.get(User, other_teacher.id))
        with pytest.raises(services.NotAllowed):
            services.confirm_requirement(s, r, actor=db.session.get(User, teacher.id))
        with pytest.raises(services.NotAllowed):  # a student cannot confirm their own
            services.confirm_requirement(u, r, actor=u)
        # Not in another specialization's requirement either, even for their own student.
        with pytest.raises(services.NotAllowed):
            services.confirm_requirement(
                u, requirement(other_spec.id, 1), actor=db.session.get(User, teacher.id)
            )
        assert services.confirm_requirement(u, r, actor=db.session.get(User, admin.id))
        # After archiving the class, its instructor no longer confirms for it.
        services.archive_class(db.session.get(Klass, klass.id), actor=db.session.get(User, teacher.id))
        with pytest.raises(services.NotAllowed):
            services.unconfirm_requirement(u, r, actor=db.session.get(User, teacher.id))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(RequirementCompletion.id))) == 1
