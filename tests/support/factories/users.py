"""Users, and users logged in on a test client."""
from __future__ import annotations

import itertools
from datetime import date

import pytest

from portal.auth import services
from portal.extensions import db
from portal.models.user import Role, User, UserStatus
from tests.support.http import login

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


def detach(obj):
    """Load every column, then detach, so the object can be read outside a context."""
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


@pytest.fixture
def make_user(app):
    def make(
        role: str = Role.STUDENT,
        *,
        email: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
        status: str = UserStatus.ACTIVE,
        date_of_birth: date | None = date(2000, 1, 1),
    ) -> User:
        n = next(_counter)
        with app.app_context():
            user = services.create_user(
                email or f"{role}{n}@example.test",
                name or f"{role.title()} {n}",
                role,
                password=password,
                status=status,
                date_of_birth=date_of_birth,
            )
            db.session.commit()
            user = detach(user)
        user.password = password
        return user

    return make


@pytest.fixture
def login_as(client, make_user):
    """Make a user of a role and log them in on ``client``; returns the user."""

    def do(role: str = Role.STUDENT, **kwargs) -> User:
        user = make_user(role, **kwargs)
        login(client, user)
        return user

    return do


@pytest.fixture
def logged_admin(login_as):
    """An admin logged in on ``client``."""
    return login_as(Role.ADMIN)


@pytest.fixture
def second_client(app, make_user):
    """A separate logged-in client for another user (to watch their session end)."""

    def make(role: str = Role.STUDENT, **kwargs):
        user = make_user(role, **kwargs)
        other = app.test_client()
        login(other, user)
        return user, other

    return make
