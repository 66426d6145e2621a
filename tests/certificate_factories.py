"""Factories for the certificate and verification tests: signed licenses in any state.

Licenses are issued and changed through the real license services (see
``tests/license_factories.py``), so they carry a real history chain and signature.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from portal.extensions import db
from portal.models.license import License
from portal.models.user import Role


def change(license: License, kind: str, **values) -> None:
    """Change fields of a license as the services do: a history row and a new signature."""
    from portal.licenses import chain, state

    for name, value in values.items():
        setattr(license, name, value)
    chain.append(license, kind, None)
    state.sign_license(license)


@pytest.fixture
def signed_license(app, make_user, make_specialization, make_license):
    """A holder, a Player specialization (made once per test) and a signed license.

    ``status`` is active, suspended, revoked or expired; ``expires_at`` moves the
    expiry date (recorded in the history and re-signed). Returns the license detached.
    """
    specs = {}

    def make(*, holder=None, holder_name: str | None = None, level: int = 1, status: str | None = None,
             expires_at: datetime | None = None, validity_months: int | None = None,
             spec_code: str = "PLY") -> License:
        key = (spec_code, validity_months)
        if key not in specs:
            specs[key] = make_specialization(
                spec_code if not specs else None,
                "Player" if not specs else None,
                max_level=8,
                validity_months=validity_months,
            )
        holder = holder or make_user(Role.STUDENT, name=holder_name)
        license = make_license(holder, specs[key], level, status=status)
        if expires_at is not None:
            with app.app_context():
                attached = db.session.get(License, license.id)
                change(attached, "renewed", expires_at=expires_at)
                db.session.commit()
                db.session.refresh(attached)
                db.session.expunge(attached)
                license = attached
        return license

    return make
