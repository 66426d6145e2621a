"""Achievements: what an admin defines, what a person has earned, and the verifications
of certificates that some achievements count (SPEC §15).

An award is derived from recorded history (the audit trail, license history, the
verification counts): ``flask achievements rebuild`` can recompute every one. An award
is never taken back; the unique (user, achievement) pair makes earning it twice impossible.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import current_locale


class Achievement(db.Model):
    """A definition: earn ``xp`` when ``trigger`` reaches ``count``."""

    __tablename__ = "achievements"
    audit_type = "achievement"

    id: Mapped[int] = mapped_column(primary_key=True)
    # English; ``titles`` and ``descriptions`` hold the other languages ({"es": "..."}).
    title: Mapped[str] = mapped_column(sa.String(80))
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    titles: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    descriptions: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict,
                                                         server_default=sa.text("'{}'"))
    icon: Mapped[str] = mapped_column(sa.String(16))
    xp: Mapped[int]
    trigger: Mapped[str] = mapped_column(sa.String(24))
    count: Mapped[int] = mapped_column(default=1)
    # Only for the "level reached" trigger: that specialization's levels, or any.
    specialization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("specializations.id", ondelete="RESTRICT"))
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    specialization = relationship("Specialization")

    __table_args__ = (
        sa.CheckConstraint("xp >= 0", name="xp"),
        sa.CheckConstraint("count >= 1", name="count"),
    )

    @property
    def audit_label(self) -> str:
        return self.title

    @property
    def local_title(self) -> str:
        return (self.titles or {}).get(current_locale()) or self.title

    @property
    def local_description(self) -> str:
        return (self.descriptions or {}).get(current_locale()) or self.description


class Award(db.Model):
    """``user`` earned ``achievement`` at ``earned_at``."""

    __tablename__ = "achievement_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    achievement_id: Mapped[int] = mapped_column(sa.ForeignKey("achievements.id", ondelete="RESTRICT"),
                                                index=True)
    earned_at: Mapped[datetime] = mapped_column(default=utcnow)

    achievement: Mapped[Achievement] = relationship()

    __table_args__ = (sa.UniqueConstraint("user_id", "achievement_id"),)


class CertificateVerification(db.Model):
    """Someone other than the holder checked a license at /verify: one row per license and
    checker (a keyed hash of the network address, never the address), so reloading the page
    counts once."""

    __tablename__ = "certificate_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"))
    checker: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("license_id", "checker"),)
