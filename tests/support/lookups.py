"""Reading the database inside a test's app context."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LicenseEvent


def get(model, obj):
    """The attached copy of a detached test object (inside an app context)."""
    return db.session.get(model, obj.id)


def history(license_id: int) -> list[LicenseEvent]:
    """A license's history rows, oldest first."""
    return list(
        db.session.scalars(
            sa.select(LicenseEvent).where(LicenseEvent.license_id == license_id).order_by(LicenseEvent.seq)
        )
    )
