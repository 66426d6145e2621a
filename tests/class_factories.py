"""Factory fixtures for classes and memberships (through the real services)."""
from __future__ import annotations

import itertools

import pytest

from portal.extensions import db
from portal.models.catalogue import Specialization
from portal.models.klass import Klass
from portal.models.user import User
from tests.factories import detach

_counter = itertools.count(1)


@pytest.fixture
def make_class(app):
    """Create a class run by ``instructor`` in ``spec``; returns the detached class."""

    def make(instructor, spec, name: str | None = None, description: str = "", *, archived=False) -> Klass:
        from portal.dashboard import services

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
        from portal.dashboard import services

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
        from portal.dashboard import services as class_services
        from portal.licenses import services as license_services
        from portal.models.catalogue import Level, Requirement
        from portal.models.klass import ClassMembership

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
                user = User(email=f"{prefix}{number}@example.test", name=f"{prefix.title()} {number:04d}")
                db.session.add(user)
                db.session.flush()
                db.session.add(ClassMembership(class_id=k.id, user_id=user.id))
                license = license_services.issue_license(user, k.specialization, 1, teacher)
                if i % 2 == 0:
                    license_services.request_upgrade(license, "Ready", user)
                    if level2:
                        class_services.confirm_requirement(user, level2[0], actor=teacher)
                ids.append(user.id)
            db.session.commit()
            return ids

    return fill
