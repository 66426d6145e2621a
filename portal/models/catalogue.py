"""Specializations, their levels and each level's requirements."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db


class Specialization(db.Model):
    __tablename__ = "specializations"
    audit_type = "specialization"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(3), unique=True)  # e.g. PLY
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    max_level: Mapped[int]
    min_age: Mapped[int] = mapped_column(default=0)
    validity_months: Mapped[int | None]
    # Level 1 is issued straight away on selection unless an admin must decide.
    auto_issue: Mapped[bool] = mapped_column(default=True)
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    levels: Mapped[list[Level]] = relationship(
        back_populates="specialization", order_by="Level.number", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint("max_level >= 1", name="max_level"),)

    @property
    def audit_label(self) -> str:
        return self.name


class Level(db.Model):
    __tablename__ = "levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    specialization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("specializations.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    specialization: Mapped[Specialization] = relationship(back_populates="levels")
    requirements: Mapped[list[Requirement]] = relationship(
        back_populates="level", order_by="Requirement.position", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("specialization_id", "number"),)


class Requirement(db.Model):
    __tablename__ = "requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    level_id: Mapped[int] = mapped_column(sa.ForeignKey("levels.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(160))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    level: Mapped[Level] = relationship(back_populates="requirements")


class RequirementCompletion(db.Model):
    """An instructor confirmed that a student met one requirement."""

    __tablename__ = "requirement_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    requirement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("requirements.id", ondelete="CASCADE"), index=True
    )
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("user_id", "requirement_id"),)
