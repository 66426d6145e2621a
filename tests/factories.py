"""Factory fixtures: make users, log them in. Each commits and returns a detached object."""
from __future__ import annotations

import itertools
import re
from datetime import date

import pytest

from portal.extensions import db
from portal.models.user import Role, User, UserStatus

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
        from portal.auth import services

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


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, user, password: str | None = None, remember: bool = False):
    """Log a user in through the real login form; returns the response."""
    data = {"email": user.email, "password": password or user.password}
    if remember:
        data["remember"] = "y"
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def login_as(client, make_user):
    """Make a user of a role and log them in on ``client``; returns the user."""

    def do(role: str = Role.STUDENT, **kwargs) -> User:
        user = make_user(role, **kwargs)
        login(client, user)
        return user

    return do
