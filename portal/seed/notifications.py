"""Demo notifications in every state: unread and read, e-mailed, e-mail pending (the
server was down), waiting for the daily summary and sent in one.

The services made the notifications as the demo's months were replayed; this step, at
the end, settles their mail as a running academy would have: what was due went out at
the time, one message is still pending a retry, an instructor's daily summary went out
yesterday and today's class news waits for the next one; everything older than two
days was read."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models.klass import Klass
from portal.models.notification import Category, DeliveryStatus, MailDelivery, MailMode, Notification
from portal.notifications.services import notify


def seed(ctx) -> None:
    timeline = ctx.timeline
    timeline.at(timeline.end, lambda: _settle(ctx, timeline.end))


def _settle(ctx, now) -> None:
    # Today's news, unread: a new student in Carla's class (waits for her daily summary),
    # and Liam's new password (a security notice, mailed by the password service itself).
    rivera = ctx.users["coach.rivera"]
    klass = db.session.scalar(sa.select(Klass).where(Klass.instructor_id == rivera.id).order_by(Klass.id))
    if klass is not None:
        notify(rivera, Category.CLASSES, "student_joined", class_id=klass.id, class_name=klass.name,
               student=ctx.users["noah"].name)
    notify(ctx.users["liam"], Category.SECURITY, "password_changed")
    db.session.flush()
    for delivery in db.session.scalars(sa.select(MailDelivery).where(
            MailDelivery.status == DeliveryStatus.PENDING)):
        delivery.status, delivery.attempts = DeliveryStatus.SENT, 1
        delivery.sent_at = delivery.created_at + timedelta(seconds=20)
    # The newest mail to Maya met a mail server that was down: pending, retried later.
    maya = ctx.users["maya"]
    newest = db.session.scalar(
        sa.select(MailDelivery).where(MailDelivery.user_id == maya.id).order_by(MailDelivery.id.desc()))
    if newest is not None:
        newest.status, newest.sent_at, newest.attempts = DeliveryStatus.PENDING, None, 2
        newest.next_attempt_at = now + timedelta(minutes=2)
        newest.last_error = "ConnectionRefusedError: [Errno 111] Connection refused"
        for notification in db.session.scalars(sa.select(Notification).where(
                Notification.delivery_id == newest.id)):
            notification.created_at = now - timedelta(hours=1)
    # Class news of the instructors (daily by default): yesterday's summary went out,
    # what came since waits for the next one.
    yesterday = now - timedelta(days=1)
    waiting = db.session.scalars(sa.select(Notification).where(
        Notification.mail == MailMode.DAILY, Notification.delivery_id.is_(None))).all()
    digests: dict[int, MailDelivery] = {}
    for notification in waiting:
        if notification.created_at > yesterday:
            continue
        digest = digests.get(notification.user_id)
        if digest is None:
            digest = digests[notification.user_id] = MailDelivery(
                key=f"digest-{notification.user_id}-{yesterday.date().isoformat()}",
                user_id=notification.user_id,
                digest=True, status=DeliveryStatus.SENT, attempts=1, next_attempt_at=yesterday,
                created_at=yesterday, sent_at=yesterday + timedelta(seconds=30))
            db.session.add(digest)
            db.session.flush()
        notification.delivery_id = digest.id
    for notification in db.session.scalars(sa.select(Notification).where(
            Notification.created_at < now - timedelta(days=2), Notification.read_at.is_(None))):
        notification.read_at = notification.created_at + timedelta(hours=3)
