"""Factory fixtures for the administration tests: an admin's client and a class full
of students, made through the real services."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from portal.extensions import db
from portal.models.klass import ClassMembership, Klass
from portal.models.user import Role, User
from tests.factories import detach, login

_counter = itertools.count(1)


@pytest.fixture
def logged_admin(login_as):
    """An admin logged in on ``client``."""
    return login_as(Role.ADMIN)


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
                )
                db.session.add(user)
                db.session.flush()
                db.session.add(ClassMembership(class_id=klass.id, user_id=user.id))
                ids.append(user.id)
            db.session.commit()
            klass = detach(db.session.get(Klass, klass.id))
        return klass, spec, ids

    return make


@pytest.fixture
def second_client(app, make_user):
    """A separate logged-in client for another user (to watch their session end)."""

    def make(role: str = Role.STUDENT, **kwargs):
        user = make_user(role, **kwargs)
        other = app.test_client()
        login(other, user)
        return user, other

    return make
