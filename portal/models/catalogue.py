"""Specializations, their levels and each level's requirements.

The names of specializations and the titles of levels are data, written in English
(``Specialization.name``, ``Level.title``) with a title per other language in ``titles``
({"es": "Jugador", "hu": "Játékos"}, admin editable). A person reads them through
``local_name`` / ``local_title``: the title in the language of the moment (the reader's,
or the holder's inside ``flask_babel.force_locale``), else the English one.
"""
from __future__ import annotations

from datetime import datetime

import flask_babel
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db


def current_locale() -> str:
    """The language text is being written in now (English outside a request)."""
    locale = flask_babel.get_locale()
    return str(locale) if locale is not None else "en"


def title_in(titles: dict[str, str] | None, english: str, locale: str | None) -> str:
    """A catalogue title in ``locale`` from its ``titles``; the English one when it has none
    (for pages that read the columns as plain rows)."""
    return (titles or {}).get(locale or "en") or english


def _titles_column():
    # Each language's title, keyed by its code; English is the model's own column. The
    # dict is replaced, never changed in place, so the ORM sees every change.
    return mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))


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
    titles: Mapped[dict[str, str]] = _titles_column()

    levels: Mapped[list[Level]] = relationship(
        back_populates="specialization", order_by="Level.number", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint("max_level >= 1", name="max_level"),)

    @property
    def audit_label(self) -> str:
        return self.name

    def name_in(self, locale: str | None) -> str:
        """The name in ``locale``; the English name when it has none."""
        return title_in(self.titles, self.name, locale)

    @property
    def local_name(self) -> str:
        """The name as the current reader reads it."""
        return self.name_in(current_locale())


class Level(db.Model):
    __tablename__ = "levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    specialization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("specializations.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    titles: Mapped[dict[str, str]] = _titles_column()

    specialization: Mapped[Specialization] = relationship(back_populates="levels")
    requirements: Mapped[list[Requirement]] = relationship(
        back_populates="level", order_by="Requirement.position", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("specialization_id", "number"),)

    @staticmethod
    def numbered_title(number: int) -> str:
        """The English title a new level gets until an admin names it."""
        return f"Level {number}"

    @staticmethod
    def numbered_in(number: int, locale: str | None) -> str:
        """What a level known only by its number ("Level 2") reads in ``locale``."""
        if (locale or "en") == current_locale():
            return flask_babel.gettext("Level %(number)d", number=number)
        with flask_babel.force_locale(locale or "en"):
            return flask_babel.gettext("Level %(number)d", number=number)

    def title_in(self, locale: str | None) -> str:
        """The title in ``locale``; else a numbered level's "Level 2" in that language,
        else the English title."""
        own = (self.titles or {}).get(locale or "en")
        if own:
            return own
        if self.title == self.numbered_title(self.number):
            return self.numbered_in(self.number, locale)
        return self.title

    @property
    def local_title(self) -> str:
        """The title as the current reader reads it."""
        return self.title_in(current_locale())


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
