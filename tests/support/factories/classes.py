"""Classes and their members (through the real services, or straight rows for big classes)."""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from portal.admin import services as admin_services
from portal.classes import services
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import reviews, rules
from portal.licenses import services as license_services
from portal.models.catalogue import Level, Requirement, Specialization
from portal.models.klass import ClassMembership, InstructorSpecialization, Klass
from portal.models.user import Role, User
from tests.support.factories.users import detach

_counter = itertools.count(1)


def assigned_row(instructor_id: int, spec_id: int) -> None:
    """Inside an app context: the instructor teaches the specialization (a straight row,
    for tests that build classes as rows too); no audit event."""
    if db.session.get(InstructorSpecialization, (instructor_id, spec_id)) is None:
        db.session.add(InstructorSpecialization(user_id=instructor_id, specialization_id=spec_id))
        db.session.flush()


@pytest.fixture
def assign(app):
    """``assign(instructor, *specs, actor=None)``: an admin assigns the instructor these
    specializations too (through the admin service: a row and an audit event)."""

    def do(instructor, *specs, actor=None) -> None:
        with app.app_context():
            teacher = db.session.get(User, instructor.id)
            admin = db.session.get(User, actor.id) if actor is not None else None
            held = {s.id for s in rules.specializations_of(teacher, include_archived=True)}
            admin_services.set_specializations(teacher, held | {s.id for s in specs}, admin)
            db.session.commit()

    return do


@pytest.fixture
def make_class(app, assign):
    """Create a class run by ``instructor`` in ``spec``; returns the detached class.

    An instructor is first assigned ``spec`` (as an admin would), unless ``assign=False``:
    then the instructor must already teach it.
    """
    give = assign

    def make(instructor, spec, name: str | None = None, description: str = "", *, archived=False,
             assign: bool = True) -> Klass:
        if assign and instructor.role == Role.INSTRUCTOR:
            give(instructor, spec)
        with app.app_context():
            teacher = db.session.get(User, instructor.id)
            klass = services.create_class(
                teacher,
                name or f"Class {next(_counter)}",
                db.session.get(Specialization, spec.id),
                description,
                actor=teacher,
            )
            if archived:
                services.archive_class(klass, actor=teacher)
            db.session.commit()
            return detach(klass)

    return make


@pytest.fixture
def join(app):
    """Put ``student`` in ``klass`` with its join code; returns the class."""

    def do(student, klass) -> Klass:
        with app.app_context():
            user = db.session.get(User, student.id)
            joined, _ = services.join_class(user, klass.join_code, actor=user)
            db.session.commit()
            return detach(joined)

    return do


@pytest.fixture
def fill_class(app):
    """Add ``n`` students to a class in one go, each with a level-1 license; every
    second one has a pending upgrade request and one confirmed requirement."""

    def fill(klass, n: int, *, prefix: str = "pupil") -> list[int]:
        with app.app_context():
            k = db.session.get(Klass, klass.id)
            teacher = db.session.get(User, k.instructor_id)
            level2 = db.session.scalars(
                db.select(Requirement)
                .join(Level)
                .where(Level.specialization_id == k.specialization_id, Level.number == 2)
                .order_by(Requirement.position)
            ).all()
            ids = []
            for i in range(n):
                number = next(_counter)
                user = User(email=f"{prefix}{number}@example.test", name=f"{prefix.title()} {number:04d}",
                            email_confirmed_at=utcnow())
                db.session.add(user)
                db.session.flush()
                db.session.add(ClassMembership(class_id=k.id, user_id=user.id))
                license = license_services.issue_license(user, k.specialization, 1, teacher)
                if i % 2 == 0:
                    reviews.request_upgrade(license, "Ready", user)
                    if level2:
                        services.confirm_requirement(user, level2[0], actor=teacher)
                ids.append(user.id)
            db.session.commit()
            return ids

    return fill


@pytest.fixture
def class_of_students(app, make_user, make_specialization, make_class):
    """A class with ``n`` adult students (no licenses yet); returns (klass, spec, ids).

    Students are added straight into the class (as joining with the code would),
    which keeps large classes quick to build.
    """

    def make(n: int, *, spec=None, **spec_kwargs):
        spec = spec or make_specialization(**spec_kwargs)
        teacher = make_user(Role.INSTRUCTOR)
        klass = make_class(teacher, spec)
        ids = []
        with app.app_context():
            for _ in range(n):
                number = next(_counter)
                user = User(
                    email=f"pupil{number}@example.test",
                    name=f"Pupil {number:04d}",
                    role=Role.STUDENT,
                    date_of_birth=date(2000, 1, 1),
                    email_confirmed_at=utcnow(),  # as a student who joined with the code
                )
                db.session.add(user)
                db.session.flush()
                db.session.add(ClassMembership(class_id=klass.id, user_id=user.id))
                ids.append(user.id)
            db.session.commit()
            klass = detach(db.session.get(Klass, klass.id))
        return klass, spec, ids

    return make


# The shared cast of the class and dashboard tests: the Player specialization and Carla,
# who an admin assigned to teach it. A module may define its own ``spec`` or ``teacher``.
@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)


@pytest.fixture
def teacher(make_user, assign, spec):
    """An instructor an admin assigned Player."""
    user = make_user("instructor", name="Carla Rivera")
    assign(user, spec)
    return user
