"""Notifications: ``notify()`` (the one function every feature calls, like ``record()``),
the e-mail preferences, and reading and marking a person's notifications.

``notify`` only adds rows to the current transaction: the notification exists exactly
when the change it announces committed, and its e-mail (a ``MailDelivery``) is handed to
the job queue after that commit (``portal.notifications.delivery``). Services never
commit; neither does this module.
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.audit import actions
from portal.audit.services import _clean, record
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.models.notification import (
    Category,
    DeliveryStatus,
    MailDelivery,
    MailMode,
    Notification,
    NotificationPreference,
)
from portal.models.user import User, UserStatus
from portal.notifications import kinds
from portal.pagination import Page

PAGE_SIZE = 20


class NotificationError(PortalError):
    """A refused preference change; the message is safe to show."""


def notify(user: User, category: str, kind: str, *, dedupe_key: str | None = None,
           **data: Any) -> int:
    """Add a notification for ``user`` to the current transaction and return its id.

    ``kind`` is an entry of ``portal.notifications.kinds.KINDS`` whose category is
    ``category`` (a mismatch raises ValueError: a programming error). ``data`` are the
    plain values its words and link use (names, codes, ids). Its e-mail follows the
    person's preference for the category, read now: at once (a delivery sent after the
    commit), in the daily digest, or none. ``dedupe_key`` makes it unique (the scheduled
    run's reminders).

    Cheap enough for a bulk job's every item: one INSERT (two with an e-mail of its
    own), no ORM objects, and the person's preferences read once per transaction."""
    entry = kinds.kind(kind)
    if entry.category != category:
        raise ValueError(f"notification kind {kind!r} is in {entry.category!r}, not {category!r}")
    if user.id is None:
        db.session.flush()
    mode = mode_for(user.id, category) if entry.mail and _reachable(user) else MailMode.OFF
    now = utcnow()
    delivery_id = None
    if mode == MailMode.INSTANT:
        delivery_id = db.session.execute(
            sa.insert(_DELIVERIES).values(key=f"n-{uuid.uuid4().hex}", user_id=user.id, digest=False,
                                          status=DeliveryStatus.PENDING, attempts=0,
                                          next_attempt_at=now, created_at=now)
            .returning(_DELIVERIES.c.id)).scalar_one()
        # Handed to the job queue after the commit (``delivery._hand_over``).
        db.session.info.setdefault(DUE_KEY, []).append(delivery_id)
    return db.session.execute(
        sa.insert(_NOTIFICATIONS).values(user_id=user.id, category=category, kind=kind, data=_clean(data),
                                         created_at=now, mail=mode, delivery_id=delivery_id,
                                         dedupe_key=dedupe_key)
        .returning(_NOTIFICATIONS.c.id)).scalar_one()


# Core inserts on the tables, not the mapped classes: no unit of work, no autoflush.
_NOTIFICATIONS = Notification.__table__
_DELIVERIES = MailDelivery.__table__
# The session's list of deliveries to hand to the job queue once the transaction commits.
DUE_KEY = "portal_mail_due"


def _reachable(user: User) -> bool:
    """Mail goes to an address its owner confirmed, of an account still in use."""
    return user.email_confirmed and user.status not in (UserStatus.ARCHIVED,)


# -- preferences ------------------------------------------------------------------------


def preferences(user_id: int) -> dict[str, str]:
    """The person's mail mode for every category: their choice, else the default."""
    chosen = dict(db.session.execute(
        sa.select(NotificationPreference.category, NotificationPreference.mode)
        .where(NotificationPreference.user_id == user_id)).all())
    modes = {c: chosen.get(c, kinds.DEFAULT_MODES[c]) for c in Category.ALL}
    modes.update(kinds.FIXED)
    return modes


def mode_for(user_id: int, category: str) -> str:
    """The person's mail mode for ``category``. Their preferences are read once per
    transaction (one query for every category) and kept in the session until it ends,
    so notifying them twice in one change queries once."""
    if category in kinds.FIXED:
        return kinds.FIXED[category]
    cache = db.session.info.setdefault(_PREFS_KEY, {})
    if user_id not in cache:
        cache[user_id] = preferences(user_id)
    return cache[user_id][category]


_PREFS_KEY = "portal_notification_preferences"


@event.listens_for(Session, "after_transaction_end")
def _forget_preferences(session, transaction) -> None:
    # Committed or rolled back (a savepoint too): the next read asks the database again.
    session.info.pop(_PREFS_KEY, None)


NOT_SWITCHABLE = _l("Security e-mails are always sent at once; they cannot be turned off.")


def set_preferences(user: User, modes: dict[str, str], actor, *,
                    via: str = "preferences") -> dict[str, tuple]:
    """Set the mail mode of the categories in ``modes``; audited, one event per change
    (``before``/``after``). Only the person (or their unsubscribe link) changes these:
    nothing else in the portal ever writes a preference. Returns what changed.
    Raises NotificationError for an unknown category or mode, or for security."""
    current = preferences(user.id)
    changed = {}
    for category, mode in modes.items():
        if category not in Category.ALL or mode not in MailMode.ALL:
            raise NotificationError(_l("Choose one of the offered e-mail settings."), field=category)
        if category in kinds.FIXED:
            if mode != kinds.FIXED[category]:
                raise NotificationError(NOT_SWITCHABLE, field=category)
            continue
        if current[category] == mode:
            continue
        db.session.info.get(_PREFS_KEY, {}).pop(user.id, None)
        row = db.session.get(NotificationPreference, (user.id, category))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, category=category, mode=mode,
                                                  updated_at=utcnow()))
        else:
            row.mode, row.updated_at = mode, utcnow()
        changed[category] = (current[category], mode)
        record(actor, actions.NOTIFICATION_PREFERENCE_CHANGED, user, category=category,
               before=current[category], after=mode, via=via)
    return changed


def unsubscribe(user: User, categories: list[str]) -> dict[str, tuple]:
    """The one-click link: stop the mail of ``categories`` (security is never in one)."""
    wanted = {c: MailMode.OFF for c in categories if c in Category.ALL and c not in kinds.FIXED}
    changed = set_preferences(user, wanted, None, via="unsubscribe_link")
    record(None, actions.NOTIFICATION_UNSUBSCRIBED, user, categories=sorted(wanted),
           changed=sorted(changed))
    return changed


# -- reading --------------------------------------------------------------------------


# Built once (its cache key too): every logged-in page's header asks it.
_UNREAD = (sa.select(sa.func.count()).select_from(Notification)
           .where(Notification.user_id == sa.bindparam("user_id"), Notification.read_at.is_(None)))


def unread_count(user_id: int) -> int:
    """One query, answered from the index of unread notifications by person."""
    return db.session.scalar(_UNREAD, {"user_id": user_id}) or 0


def latest(user_id: int, limit: int = 3) -> list[Notification]:
    return list(db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user_id)
        .order_by(Notification.id.desc()).limit(limit)))


def page(user_id: int, before: int | None = None, size: int = PAGE_SIZE) -> Page[Notification]:
    """Newest first, keyset on the id (``before``: the last id of the page before)."""
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(db.session.scalars(query.order_by(Notification.id.desc()).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, first=before is None, next={"before": rows[-1].id} if more else None)


def mark_read(user: User, notification_id: int) -> bool:
    """Mark one of the user's notifications read; False when it is not theirs (or gone)."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user.id)
        .values(read_at=sa.func.coalesce(Notification.read_at, utcnow()))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False))
    return result.rowcount
