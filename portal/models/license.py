"""Licenses, their hash-chained history, and upgrade requests."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import Specialization
from portal.models.user import User


class LicenseStatus:
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ALL = (ACTIVE, SUSPENDED, REVOKED, EXPIRED)


class License(db.Model):
    __tablename__ = "licenses"
    audit_type = "license"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)  # e.g. PLY-7K3Q-9XZD-M2
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # The counted columns (portal/stats/summary.py) load their old value when set.
    specialization_id: Mapped[int] = mapped_column(sa.ForeignKey("specializations.id"), active_history=True)
    level: Mapped[int] = mapped_column(active_history=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=LicenseStatus.ACTIVE, active_history=True)
    status_reason: Mapped[str | None] = mapped_column(sa.String(32))
    status_note: Mapped[str | None] = mapped_column(sa.Text)
    status_changed_at: Mapped[datetime | None]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow, active_history=True)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Head of the history chain, and the signature over the current state.
    head_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    signature: Mapped[str] = mapped_column(sa.String(128), default="")
    key_id: Mapped[str] = mapped_column(sa.String(32), default="")
    # How the signature was made (portal.licenses.state): 2 = the license-state context over
    # the specialization's code; 1 = before contexts, over its name at the time, kept in
    # signed_specialization_name so that renaming it later does not break the signature.
    signature_version: Mapped[int] = mapped_column(default=2, server_default="2")
    signed_specialization_name: Mapped[str | None] = mapped_column(sa.String(80))
    # Bumped on every change; guards concurrent updates (optimistic locking).
    version: Mapped[int] = mapped_column(default=1)
    # Set when a birth-date correction made the holder a minor without guardian consent:
    # the license stays as it is, flagged for an admin to review; recording consent clears it.
    consent_review_at: Mapped[datetime | None]

    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    specialization: Mapped[Specialization] = relationship()
    history: Mapped[list[LicenseEvent]] = relationship(
        back_populates="license", order_by="LicenseEvent.seq", lazy="raise_on_sql"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("holder_id", "specialization_id"),
        sa.Index("ix_licenses_spec_level", "specialization_id", "level"),
        # Covers the admin dashboard's "active licenses by specialization and level".
        sa.Index("ix_licenses_status_spec_level", "status", "specialization_id", "level"),
        sa.Index("ix_licenses_issued_at", "issued_at"),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'revoked', 'expired')", name="status"
        ),
        sa.CheckConstraint("level >= 1", name="level"),
    )

    @property
    def audit_label(self) -> str:
        return self.code


class LicenseEvent(db.Model):
    """One row of a license's history; each row hashes its content and its predecessor."""

    __tablename__ = "license_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))  # issued, upgraded, suspended, ...
    level: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16))
    expires_at: Mapped[datetime | None]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    license: Mapped[License] = relationship(back_populates="history")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("license_id", "seq"),)


class RequestStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    ALL = (PENDING, APPROVED, REJECTED, WITHDRAWN)


class UpgradeRequest(db.Model):
    """A student's request for a level: the next level of a license, or level 1 when an
    admin must decide (no license yet)."""

    __tablename__ = "upgrade_requests"
    audit_type = "request"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    specialization_id: Mapped[int] = mapped_column(sa.ForeignKey("specializations.id"))
    license_id: Mapped[int | None] = mapped_column(sa.ForeignKey("licenses.id"))
    from_level: Mapped[int] = mapped_column(default=0)
    to_level: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=RequestStatus.PENDING, active_history=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    specialization: Mapped[Specialization] = relationship()
    license: Mapped[License | None] = relationship()

    __table_args__ = (
        # At most one pending request per student and specialization, enforced by the
        # database so that two simultaneous requests cannot both succeed.
        sa.Index(
            "uq_upgrade_requests_one_pending",
            "user_id",
            "specialization_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_upgrade_requests_status_created", "status", "created_at"),
        # A student's own requests, and an instructor's recent decisions (dashboards).
        sa.Index("ix_upgrade_requests_user_created", "user_id", "created_at"),
        sa.Index("ix_upgrade_requests_decider", "decided_by_id", "decided_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')", name="status"
        ),
    )

    @property
    def audit_label(self) -> str:
        return f"request {self.id}"
