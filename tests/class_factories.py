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
