"""Small helpers shared by the license tests."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, License, LicenseEvent, Specialization, UpgradeRequest, User


def get(model, obj):
    """The attached copy of a detached test object (inside an app context)."""
    return db.session.get(model, obj.id)


def actions_since(start_id: int = 0) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.id > start_id).order_by(AuditEvent.id)
        )
    )


def last_audit_id() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
    )


def history(license_id: int) -> list[LicenseEvent]:
    return list(
        db.session.scalars(
            sa.select(LicenseEvent).where(LicenseEvent.license_id == license_id).order_by(LicenseEvent.seq)
        )
    )


__all__ = [
    "License",
    "Specialization",
    "UpgradeRequest",
    "User",
    "actions_since",
    "events",
    "get",
    "history",
    "last_audit_id",
]
