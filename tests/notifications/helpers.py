"""Reading notifications and deliveries in the notification tests."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models.notification import MailDelivery, Notification


def notifications_of(app, user) -> list[Notification]:
    """The user's notifications, oldest first, detached (with their delivery loaded)."""
    with app.app_context():
        rows = list(db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)))
        for row in rows:
            _ = row.delivery
        db.session.expunge_all()
        return rows


def kinds_of(app, user) -> list[str]:
    return [n.kind for n in notifications_of(app, user)]


def deliveries_of(app, user) -> list[MailDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(
            sa.select(MailDelivery).where(MailDelivery.user_id == user.id).order_by(MailDelivery.id)))
        db.session.expunge_all()
        return rows
