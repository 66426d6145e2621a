"""Accounts and their server-side login sessions."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db


class Role:
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"
    ALL = (STUDENT, INSTRUCTOR, ADMIN)


class UserStatus:
    ACTIVE = "active"
    SUSPENDED = "suspended"
    PENDING = "pending"
    # Left the academy: cannot log in, kept for the records, listed apart.
    ARCHIVED = "archived"
    ALL = (ACTIVE, SUSPENDED, PENDING, ARCHIVED)


class User(db.Model):
    __tablename__ = "users"
    audit_type = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), index=True)
    # Optional parts of the name, filled by the person or an admin, never derived from
    # ``name`` (the name as written, the one display name): with both, a language that
    # puts the family name first can address the person so (portal.names).
    given_name: Mapped[str | None] = mapped_column(sa.String(80))
    family_name: Mapped[str | None] = mapped_column(sa.String(80))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.STUDENT, index=True,
                                      active_history=True)  # counted: portal/stats/summary.py
    status: Mapped[str] = mapped_column(sa.String(16), default=UserStatus.ACTIVE, index=True,
                                        active_history=True)
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    guardian_consent_at: Mapped[datetime | None]
    guardian_consent_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    guardian_name: Mapped[str | None] = mapped_column(sa.String(120))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # The language the person reads Portal in (portal.i18n.LANGUAGES); None until they
    # register, log in having picked one, or choose one (then their browser's is used).
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    password_changed_at: Mapped[datetime | None]
    # When the owner proved the address is theirs (the link mailed at registration, a
    # set-password or reset link), or an admin created the account active. Until then a
    # self-registered account is pending: it cannot log in, and is removed after 7 days.
    email_confirmed_at: Mapped[datetime | None]
    # A change of address asked for on /account, waiting for its link to be opened; the
    # link's fingerprint holds both, so a newer request or a cancel kills older links.
    pending_email: Mapped[str | None] = mapped_column(sa.String(254))
    pending_email_requested_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # The person's achievements, XP and level are shown to them (SPEC §15); off hides them all.
    show_achievements: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Two-factor sign-in (portal.auth.two_factor): the TOTP secret, encrypted with the
    # instance's key; set while enrolling, in force once ``totp_enabled_at`` is set.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_enabled_at: Mapped[datetime | None]
    # The last time step whose code was accepted: a code is good once (RFC 6238 §5.2).
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Set when the person's data was erased (portal.privacy.erasure): the row stays, under a
    # pseudonym, for what refers to it; it can never log in or be restored.
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True, active_history=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", foreign_keys="UserSession.user_id", lazy="raise_on_sql"
    )

    __table_args__ = (
        sa.CheckConstraint("role IN ('student', 'instructor', 'admin')", name="role"),
        sa.CheckConstraint("status IN ('active', 'suspended', 'pending', 'archived')", name="status"),
        sa.Index("ix_users_role_status", "role", "status"),
        # Registrations per week (students only) without reading the table.
        sa.Index("ix_users_role_created_at", "role", "created_at"),
    )

    # The id of the server-side session this object was loaded through; Flask-Login
    # stores it (not the user id) in the cookie, so a revoked session is useless.
    session_token = None
    current_session_id = None

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == UserStatus.ACTIVE

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def awaiting_confirmation(self) -> bool:
        """Pending until its owner opens a link mailed to the address."""
        return self.status == UserStatus.PENDING and self.email_confirmed_at is None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_instructor(self) -> bool:
        return self.role == Role.INSTRUCTOR

    @property
    def is_student(self) -> bool:
        return self.role == Role.STUDENT

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    @property
    def audit_label(self) -> str:
        return self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginThrottle(db.Model):
    """Wrong passwords for one account from one source, and the lock they led to.

    ``source`` is where the attempts came from (``portal.auth.lockout.source_for``: an
    IPv4 address or an IPv6 /64), or ``*`` for the account as a whole (every source
    counted together, with a much higher threshold). ``lock_count`` is how many locks
    in a row this source earned: each lasts twice as long as the one before.
    """

    __tablename__ = "login_throttles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    lock_count: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    # A source the owner logged in from: it stays open while the account as a whole is locked.
    last_success_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(db.Model):
    """One login on one device. The cookie holds a random token; we store its hash."""

    __tablename__ = "user_sessions"
    audit_type = "session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    remember: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(64))

    user: Mapped[User] = relationship(back_populates="sessions", foreign_keys=[user_id])

    @property
    def audit_label(self) -> str:
        return f"session {self.id}"


class RecoveryCode(db.Model):
    """One of a user's ten one-time recovery codes, stored as a keyed hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class TrustedDevice(db.Model):
    """A browser where the owner chose "remember this device": its logins skip the
    second step until it expires or is revoked. The cookie holds a token; we store its hash."""

    __tablename__ = "trusted_devices"
    audit_type = "trusted_device"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    revoked_at: Mapped[datetime | None]

    @property
    def audit_label(self) -> str:
        return f"trusted device {self.id}"
