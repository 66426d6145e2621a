"""Guardian consent for a minor, with its evidence, and its withdrawal."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db
from portal.models.user import User


class ConsentMethod:
    SIGNED_FORM = "signed_form"
    EMAIL = "email"
    IN_PERSON = "in_person"
    ALL = (SIGNED_FORM, EMAIL, IN_PERSON)


class ConsentRecord(db.Model):
    """One consent a guardian gave for a student under 18: who recorded it, how it was
    given, and, once withdrawn, who withdrew it, when and why. Rows are never deleted;
    the student's current consent is their newest row that is not withdrawn (mirrored in
    ``User.guardian_consent_at``, which the eligibility rules read)."""

    __tablename__ = "consent_records"
    audit_type = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    guardian_name: Mapped[str] = mapped_column(sa.String(120))
    relationship_: Mapped[str] = mapped_column("relationship", sa.String(60))
    method: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(sa.Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    __table_args__ = (
        sa.CheckConstraint("method IN ('signed_form', 'email', 'in_person')", name="method"),
    )

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def audit_label(self) -> str:
        return f"consent {self.id}"
