"""Classes run by instructors, their students, and the specializations each instructor
may teach."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import Specialization
from portal.models.user import User


class Klass(db.Model):
    __tablename__ = "classes"
    audit_type = "class"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    specialization_id: Mapped[int] = mapped_column(sa.ForeignKey("specializations.id"))
    instructor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # As displayed, dashes included: PLY-4KDQ-9XTR-M7CA (or an older PLY-4KD-9QX).
    join_code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An admin lets the instructor see how many of the class earned each achievement
    # (counts only, never names); off by default.
    achievements_summary: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    specialization: Mapped[Specialization] = relationship()
    instructor: Mapped[User] = relationship()

    @property
    def audit_label(self) -> str:
        return self.name


class ClassMembership(db.Model):
    __tablename__ = "class_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("classes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    klass: Mapped[Klass] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("class_id", "user_id"),)


class ReplacedJoinCode(db.Model):
    """A join code a class had before its instructor renewed it; it is never handed out
    again (a student who types it is answered as for a code no class has)."""

    __tablename__ = "replaced_join_codes"

    code: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("classes.id", ondelete="CASCADE"), index=True
    )
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstructorSpecialization(db.Model):
    """An admin assigned this specialization to this instructor: they may run classes in
    it and review its requests (``portal.licenses.rules`` reads it)."""

    __tablename__ = "instructor_specializations"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    specialization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("specializations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


# The background job that mails a batch of invitations (``portal.classes.invitations``).
INVITATIONS_JOB_KIND = "class_invitations"


class InvitationState:
    SENT = "sent"
    JOINED = "joined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    ALL = (SENT, JOINED, EXPIRED, WITHDRAWN)


class ClassInvitation(db.Model):
    """An instructor invited this address to the class: a link mailed to it joins the
    class (after registering, for a new address). ``nonce`` is part of the signed link;
    a new one (a resend) makes the earlier link stop working."""

    __tablename__ = "class_invitations"
    audit_type = "class_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(
        sa.ForeignKey("classes.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    nonce: Mapped[str] = mapped_column(sa.String(32))
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    joined_at: Mapped[datetime | None]
    joined_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    withdrawn_at: Mapped[datetime | None]

    klass: Mapped[Klass] = relationship()

    @property
    def audit_label(self) -> str:
        return self.email

    def state(self, now: datetime) -> str:
        if self.withdrawn_at is not None:
            return InvitationState.WITHDRAWN
        if self.joined_at is not None:
            return InvitationState.JOINED
        if self.expires_at <= now:
            return InvitationState.EXPIRED
        return InvitationState.SENT
