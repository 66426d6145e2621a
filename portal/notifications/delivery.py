"""Notification e-mail: handed to the job queue after commit, sent exactly once.

Each message is a ``MailDelivery`` row whose unique ``key`` is the idempotency key (and
the Message-ID). Sending one:

1. claim it: one conditional UPDATE moves it from ``pending`` (due) to ``sending``, or
   takes over a ``sending`` claim older than ``CLAIM_LEASE`` (its worker died); commit;
2. send it over SMTP, and commit the ``sent`` marker after the whole message is with the
   server but before the lone ``.`` that ends the transaction (``mail.send_once``): a
   worker killed before the marker leaves no message (the server drops an unfinished
   one), so the next attempt sends it; killed after it, nothing sends it again;
3. a server that is down or refuses: back to ``pending`` with the next attempt later
   (``backoff``), nothing lost; ``flask notifications run`` retries what is due.

Security mail has no unsubscribe link; every other carries RFC 8058's one-click headers.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal import jobs, mail
from portal.auth.tokens import absolute_url, render_mail, writing_for
from portal.db import utcnow
from portal.extensions import db
from portal.models.notification import (
    Category,
    DeliveryStatus,
    MailDelivery,
    MailMode,
    Notification,
)
from portal.models.user import User
from portal.notifications import kinds, services

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=6)
TASK = "portal.notifications.delivery.deliver"
_DUE_KEY = services.DUE_KEY  # ``notify`` adds its deliveries' ids here itself



def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed attempt, at most 6 hours."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


# -- after commit: to the job queue ----------------------------------------------------------


@event.listens_for(Session, "after_flush")
def _collect(session, flush_context) -> None:
    due = [obj.id for obj in session.new if isinstance(obj, MailDelivery)]
    if due:
        session.info.setdefault(_DUE_KEY, []).extend(due)


@event.listens_for(Session, "after_commit")
def _hand_over(session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    due = session.info.pop(_DUE_KEY, None)
    if due:
        try:
            jobs.submit(TASK, due)
        except Exception:  # never the committed change's problem: the scheduled run retries
            log.exception("could not hand %d notification mail(s) to the queue", len(due))


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    # A savepoint rolled back leaves the rest of the transaction (an id of a row it took
    # with it is harmless: its claim finds nothing).
    if not session.in_nested_transaction():
        session.info.pop(_DUE_KEY, None)


# -- sending -------------------------------------------------------------------------------


def deliver(delivery_ids: list[int]) -> None:
    """The queued task: send each delivery that is still due (safe to run twice)."""
    for delivery_id in delivery_ids:
        send(delivery_id)


def deliver_due(now: datetime | None = None) -> dict[str, int]:
    """Send every delivery that is due, or whose claim went stale; counts by outcome."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        sa.select(MailDelivery.id).where(sa.or_(
            sa.and_(MailDelivery.status == DeliveryStatus.PENDING, MailDelivery.next_attempt_at <= now),
            _stale_claim(now),
        )).order_by(MailDelivery.id)))
    db.session.commit()
    counts = {"sent": 0, "failed": 0, "dropped": 0, "skipped": 0}
    for delivery_id in ids:
        counts[send(delivery_id, now)] += 1
    return counts


def _stale_claim(now: datetime):
    """Claimed by a worker that has not finished in ``CLAIM_LEASE``: it died."""
    return sa.and_(MailDelivery.status == DeliveryStatus.SENDING, MailDelivery.claimed_at < now - CLAIM_LEASE)


def _claim(delivery_id: int, now: datetime) -> bool:
    result = db.session.execute(
        sa.update(MailDelivery)
        .where(MailDelivery.id == delivery_id, sa.or_(
            sa.and_(MailDelivery.status == DeliveryStatus.PENDING, MailDelivery.next_attempt_at <= now),
            _stale_claim(now),
        ))
        .values(status=DeliveryStatus.SENDING, claimed_at=now, attempts=MailDelivery.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def _finish(delivery_id: int, **values) -> None:
    db.session.execute(sa.update(MailDelivery).where(MailDelivery.id == delivery_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def send(delivery_id: int, now: datetime | None = None) -> str:
    """Send one delivery if it is due: "sent", "failed" (to be retried), "dropped" (its
    category was turned off meanwhile) or "skipped" (not due, or another worker has it)."""
    now = now or utcnow()
    if not _claim(delivery_id, now):
        return "skipped"
    delivery = db.session.get(MailDelivery, delivery_id)
    user = db.session.get(User, delivery.user_id)
    notifications = list(db.session.scalars(
        sa.select(Notification).where(Notification.delivery_id == delivery_id).order_by(Notification.id)))
    modes = services.preferences(user.id) if user is not None else {}
    wanted = [n for n in notifications if modes.get(n.category, MailMode.OFF) != MailMode.OFF]
    if user is None or not wanted:
        _finish(delivery_id, status=DeliveryStatus.DROPPED, claimed_at=None)
        return "dropped"
    message = compose(user, delivery, wanted)

    def mark_sent():
        _finish(delivery_id, status=DeliveryStatus.SENT, sent_at=utcnow(), last_error=None)

    try:
        mail.send_once(message, mark_sent)
    except (OSError, smtplib.SMTPException) as exc:
        db.session.rollback()
        attempts = db.session.get(MailDelivery, delivery_id).attempts
        error = f"{exc.__class__.__name__}: {exc}"[:255]
        log.warning("notification mail %s not sent (attempt %d): %s", delivery.key, attempts, error)
        _finish(delivery_id, status=DeliveryStatus.PENDING, claimed_at=None, sent_at=None,
                next_attempt_at=now + backoff(attempts), last_error=error)
        return "failed"
    return "sent"


# -- the message -----------------------------------------------------------------------------


def compose(user: User, delivery: MailDelivery, notifications: list[Notification]):
    """The message for one delivery, in the reader's language, with the unsubscribe headers
    unless it is all security."""
    categories = sorted({n.category for n in notifications} - set(kinds.FIXED))
    unsubscribe = absolute_url("notifications.unsubscribe", token=unsubscribe_token(user, categories)) \
        if categories else None
    with writing_for(user):
        items = [{"title": kinds.title(n.kind, n.data), "body": kinds.body(n.kind, n.data),
                  "url": _url(n)} for n in notifications]
        if delivery.digest:
            subject = ngettext("Your Portal summary: %(num)d new notification",
                               "Your Portal summary: %(num)d new notifications", len(items))
        else:
            subject = items[0]["title"]
        text = render_mail("notification", user, user=user, items=items, digest=delivery.digest,
                           unsubscribe_url=unsubscribe,
                           preferences_url=absolute_url("account.notifications"),
                           list_url=absolute_url("notifications.index"))
    headers = {}
    if unsubscribe:
        headers = {"List-Unsubscribe": f"<{unsubscribe}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return mail.build(user.email, subject, text, message_key=delivery.key, headers=headers)


def _url(notification: Notification) -> str:
    target = kinds.link(notification.kind, notification.data)
    if target is None:
        return absolute_url("notifications.index")
    endpoint, values = target
    return absolute_url(endpoint, **values)


# -- the unsubscribe link --------------------------------------------------------------------

_UNSUBSCRIBE_SALT = "portal.notifications.unsubscribe"


def unsubscribe_token(user: User, categories: list[str]) -> str:
    """Signed, not secret: names the account and the categories whose mail it stops. It
    does not expire (an old mail's link must still work) and only ever turns mail off."""
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT).dumps(
        {"u": user.id, "c": categories})


class BadLink(Exception):
    pass


class GoneAccount(Exception):
    pass


def read_unsubscribe_token(token: str) -> tuple[User, list[str]]:
    """The account and categories of a link. Raises BadLink (tampered, unknown) or
    GoneAccount (the account no longer exists)."""
    try:
        payload = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise BadLink() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int) \
            or not isinstance(payload.get("c"), list):
        raise BadLink()
    categories = [c for c in payload["c"] if c in Category.ALL and c not in kinds.FIXED]
    if not categories:
        raise BadLink()
    user = db.session.get(User, payload["u"])
    if user is None:
        raise GoneAccount()
    return user, categories
