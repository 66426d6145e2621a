"""Factory fixtures for specializations, licenses and upgrade requests.

Each commits and returns a detached object whose plain columns can be read
outside an app context (ids, code, level, status ...).
"""

from __future__ import annotations

import itertools
import string

import pytest

from portal.extensions import db
from portal.models.catalogue import Level, Requirement, Specialization
from portal.models.license import License, UpgradeRequest
from tests.factories import detach

_counter = itertools.count(1)


def _spec_code(n: int) -> str:
    letters = string.ascii_uppercase
    return "Z" + letters[(n // 26) % 26] + letters[n % 26]


@pytest.fixture
def make_specialization(app):
    def make(
        code: str | None = None,
        name: str | None = None,
        *,
        max_level: int = 3,
        min_age: int = 0,
        validity_months: int | None = 24,
        auto_issue: bool = True,
        requirements_per_level: int = 2,
    ) -> Specialization:
        n = next(_counter)
        code = code or _spec_code(n)
        with app.app_context():
            spec = Specialization(
                code=code,
                name=name or f"Specialization {code}",
                description="",
                max_level=max_level,
                min_age=min_age,
                validity_months=validity_months,
                auto_issue=auto_issue,
            )
            for number in range(1, max_level + 1):
                level = Level(number=number, title=f"Level {number}")
                level.requirements = [
                    Requirement(position=i, title=f"{code} L{number} requirement {i + 1}")
                    for i in range(requirements_per_level)
                ]
                spec.levels.append(level)
            db.session.add(spec)
            db.session.commit()
            return detach(spec)

    return make


@pytest.fixture
def make_license(app):
    """Issue a license through the real service (history row, signature, audit)."""

    def make(holder, spec, level: int = 1, *, actor=None, status: str | None = None) -> License:
        from portal.licenses import services
        from portal.models.user import User

        with app.app_context():
            holder_obj = db.session.get(User, holder.id)
            spec_obj = db.session.get(Specialization, spec.id)
            actor_obj = db.session.get(User, actor.id) if actor is not None else None
            license = services.issue_license(holder_obj, spec_obj, level, actor_obj)
            if status == "suspended":
                services.suspend(license, actor_obj, "Test suspension")
            elif status == "revoked":
                services.revoke(license, actor_obj, "other", "Test revocation")
            elif status == "expired":
                from datetime import timedelta

                from portal.db import utcnow

                # As if issued long ago: the expiry run records the change and re-signs.
                license.expires_at = utcnow() - timedelta(days=1)
                db.session.flush()
                services.expire_due()
            db.session.commit()
            return detach(license)

    return make


@pytest.fixture
def make_request(app):
    """A pending upgrade request for a license (through the real service)."""

    def make(license, reason: str = "I have met every requirement.") -> UpgradeRequest:
        from portal.licenses import services
        from portal.models.user import User

        with app.app_context():
            license_obj = db.session.get(License, license.id)
            holder = db.session.get(User, license_obj.holder_id)
            request = services.request_upgrade(license_obj, reason, holder)
            db.session.commit()
            return detach(request)

    return make
