"""``flask --app wsgi notifications run``: expiry reminders, daily digests, and the mail
that is due (retries included). Run it from cron every few minutes; it is idempotent.

Both reminders and digests go out at 09:00 in the person's time zone (``SEND_HOUR``),
on the first run at or after it. Running twice makes nothing twice: a reminder carries a
unique key (license, expiry day, threshold), a digest is one delivery per person and
local day (unique key). A day missed is caught up on the next run: the reminder now due
(the nearest threshold not yet passed) is made, and a digest takes every daily
notification not mailed yet. Time is what ``portal.db.utcnow`` says (``--now`` shifts it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import dates
from portal.db import utcnow
from portal.extensions import db
from portal.models.license import License, LicenseStatus
from portal.models.notification import Category, MailDelivery, MailMode, Notification
from portal.models.user import User
from portal.notifications import delivery, services

SEND_HOUR = 9
THRESHOLDS = (30, 7, 0)  # days before the expiry day


@dataclass
class Summary:
    reminders: int = 0
    digests: int = 0
    sent: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (f"{self.reminders} expiry reminder(s), {self.digests} digest(s); "
                f"mail: {self.sent} sent, {self.failed} to retry")


def _zone(user: User) -> ZoneInfo:
    return ZoneInfo(user.timezone if dates.valid_zone(user.timezone) else "UTC")


def sending_day(user: User, now: datetime) -> date:
    """The local day whose 09:00 has passed most recently for this person."""
    local = now.astimezone(_zone(user))
    return local.date() if local.hour >= SEND_HOUR else local.date() - timedelta(days=1)


def due_threshold(days_before: int) -> int | None:
    """The reminder due when the expiry day is ``days_before`` days after the sending day."""
    if days_before < 0:
        return None
    for threshold in sorted(THRESHOLDS):
        if days_before <= threshold:
            return threshold
    return None


def make_expiry_reminders(now: datetime) -> int:
    licenses = db.session.scalars(
        sa.select(License)
        .options(selectinload(License.holder), selectinload(License.specialization))
        .where(License.status == LicenseStatus.ACTIVE, License.expires_at.is_not(None),
               License.expires_at <= now + timedelta(days=max(THRESHOLDS) + 2),
               License.expires_at >= now - timedelta(days=2))
        .order_by(License.id)).all()
    made = 0
    for license in licenses:
        holder = license.holder
        expiry_day = license.expires_at.astimezone(_zone(holder)).date()
        threshold = due_threshold((expiry_day - sending_day(holder, now)).days)
        if threshold is None:
            continue
        key = f"expiry-{license.id}-{expiry_day.isoformat()}-{threshold}"
        if db.session.scalar(sa.select(Notification.id).where(Notification.dedupe_key == key)):
            continue
        kind = "license_expires_today" if threshold == 0 else "license_expiring"
        try:
            with db.session.begin_nested():
                services.notify(holder, Category.EXPIRY, kind, dedupe_key=key, license_id=license.id,
                                code=license.code, specialization=license.specialization.name,
                                day=expiry_day.isoformat(), days=threshold)
                db.session.flush()
        except IntegrityError:  # a simultaneous run made it
            continue
        made += 1
    db.session.commit()
    return made


def make_digests(now: datetime) -> int:
    """One digest per person whose 09:00 has come, of their daily notifications not
    mailed yet; none when today's digest went already."""
    user_ids = list(db.session.scalars(
        sa.select(Notification.user_id).where(Notification.mail == MailMode.DAILY,
                                              Notification.delivery_id.is_(None)).distinct()))
    made = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        local = now.astimezone(_zone(user))
        if local.hour < SEND_HOUR:
            continue
        key = f"digest-{user.id}-{local.date().isoformat()}"
        if db.session.scalar(sa.select(MailDelivery.id).where(MailDelivery.key == key)):
            continue
        waiting = list(db.session.scalars(
            sa.select(Notification).where(
                Notification.user_id == user.id, Notification.mail == MailMode.DAILY,
                Notification.delivery_id.is_(None), Notification.created_at <= now)))
        if not waiting:
            continue
        try:
            with db.session.begin_nested():
                digest = MailDelivery(key=key, user_id=user.id, digest=True, next_attempt_at=now,
                                      created_at=now)
                db.session.add(digest)
                db.session.flush()
                for notification in waiting:
                    notification.delivery_id = digest.id
                db.session.flush()
        except IntegrityError:
            continue
        made += 1
    db.session.commit()
    return made


def run(now: datetime | None = None) -> Summary:
    now = now or utcnow()
    summary = Summary()
    summary.reminders = make_expiry_reminders(now)
    summary.digests = make_digests(now)
    counts = delivery.deliver_due(now)
    summary.sent, summary.failed = counts["sent"], counts["failed"]
    return summary
