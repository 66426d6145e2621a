"""Notifications: what a person should know, in the portal and by e-mail.

A ``Notification`` is written in the same transaction as the change it announces
(``portal.notifications.notify``). Its e-mail, when one is due, is a ``MailDelivery``:
one row per message and channel with a unique idempotency key, claimed before the SMTP
transaction and marked sent before the server's final acknowledgement, so a worker
killed mid-send neither loses nor doubles it (``portal.notifications.delivery``).
A daily digest is one delivery that several notifications point to.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db


class Category:
    DECISIONS = "decisions"
    LICENSE_STATUS = "license_status"
    EXPIRY = "expiry"
    SECURITY = "security"
    CLASSES = "classes"
    ACHIEVEMENTS = "achievements"
    ALL = (DECISIONS, LICENSE_STATUS, EXPIRY, SECURITY, CLASSES, ACHIEVEMENTS)


class MailMode:
    INSTANT = "instant"
    DAILY = "daily"
    OFF = "off"
    ALL = (INSTANT, DAILY, OFF)


class DeliveryStatus:
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a worker; back to pending if the claim goes stale
    SENT = "sent"  # the marker: written before the server's final acknowledgement
    DROPPED = "dropped"  # the person turned the category off before it went out
    ALL = (PENDING, SENDING, SENT, DROPPED)


class MailDelivery(db.Model):
    __tablename__ = "mail_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The idempotency key: also the Message-ID, so a receiver sees one message however
    # often it is offered. ``n-<hex>`` for one notification, ``digest-<user>-<day>``.
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'dropped')", name="status"),
        # What the delivery run reads: the unsent ones that are due.
        sa.Index("ix_mail_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )


class Notification(db.Model):
    __tablename__ = "notifications"
    audit_type = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(48))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # The mail mode in force when it was made: instant (a delivery of its own), daily
    # (waits for the digest), off (portal only).
    mail: Mapped[str] = mapped_column(sa.String(8), default=MailMode.OFF)
    delivery_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mail_deliveries.id", ondelete="SET NULL"), index=True)
    # Notifications made by the scheduled run (expiry reminders) carry a key, so running
    # it twice never makes two.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)

    delivery: Mapped[MailDelivery | None] = relationship(lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(
            "category IN ('decisions', 'license_status', 'expiry', 'security', 'classes', 'achievements')",
            name="category"),
        sa.CheckConstraint("mail IN ('instant', 'daily', 'off')", name="mail"),
        # The list (newest first, keyset on id) and the unread count: one index each. The
        # count's holds the unread ones only, so it is answered from the index alone.
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        sa.Index("ix_notifications_unread_user_id", "user_id", "read_at",
                 sqlite_where=sa.text("read_at IS NULL"), postgresql_where=sa.text("read_at IS NULL")),
        # The digest run: daily notifications not in a digest yet.
        sa.Index("ix_notifications_mail_delivery_id", "mail", "delivery_id"),
    )

    @property
    def audit_label(self) -> str:
        return f"notification {self.id} ({self.kind})"

    @property
    def mail_state(self) -> str:
        """For the list: none, waiting (for the digest), pending, sent or dropped."""
        if self.mail == MailMode.OFF:
            return "none"
        if self.delivery is None:
            return "waiting"
        if self.delivery.status == DeliveryStatus.SENDING:
            return DeliveryStatus.PENDING
        return self.delivery.status


class NotificationPreference(db.Model):
    """A person's e-mail choice for one category; no row means the default."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    mode: Mapped[str] = mapped_column(sa.String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint("mode IN ('instant', 'daily', 'off')", name="mode"),)
