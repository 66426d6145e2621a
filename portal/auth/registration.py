"""Registration and the confirmation of its address.

``POST /auth/register`` answers the same for every address (SPEC §2): a new address gets
a pending student account and a one-time confirmation link (24 hours) that activates it
and logs its owner in; an address that already has an account gets a notice instead,
and no account changes. Both cost the same work (a password hash, an audit event, a mail
made and sent from a thread), so the time of the answer does not tell them apart.

Until the address is confirmed the account cannot log in (the login says to confirm,
and a new link can be asked for), start a specialization or join a class; after 7 days
``purge_unconfirmed`` removes it.

Plain functions like the account services: they record their audit events and never
commit; each returns the mail to send, which the caller sends after committing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal import mail
from portal.achievements import awarding
from portal.achievements import rules as achievement_rules
from portal.audit import actions
from portal.audit.services import record
from portal.auth import services, sessions, tokens
from portal.auth.passwords import hash_password
from portal.db import utcnow
from portal.extensions import db
from portal.limits import within_quota
from portal.models.audit import AuditEvent, Outcome
from portal.models.user import Role, User, UserStatus
from portal.stats import summary

log = logging.getLogger("portal.auth.registration")

UNCONFIRMED_DAYS = 7


@dataclass(frozen=True)
class Mail:
    """A message a service decided on; sent after the commit, from a thread, so the time
    the mail server takes does not show in the answer."""

    to: str
    subject: str
    text: str

    def send(self) -> None:
        mail.send_in_background(self.to, self.subject, self.text)


@dataclass(frozen=True)
class Registration:
    """What a registration did: never shown to the visitor, whose answer is the same."""

    user: User | None  # the new account, or the one that had the address already
    new: bool
    mail: Mail | None


def register(*, name: str, email: str, password: str, date_of_birth: date | None) -> Registration:
    """Register a student: a pending account and its confirmation link for a new address,
    a notice for an address that has an account (also one taken at the same moment).

    Raises AuthError with the field it belongs to (name, password, date_of_birth); those
    checks do not depend on the address having an account."""
    services.validate_name(name)
    services.validate_date_of_birth(date_of_birth)
    services.validate_new_password(password, email=email, name=name)
    existing = services.find_user_by_email(email)
    if existing is None:
        try:
            user = services.create_user(
                email, name, Role.STUDENT, password=password, status=UserStatus.PENDING,
                date_of_birth=date_of_birth, action=actions.USER_REGISTERED,
            )
        except services.EmailTaken:  # registered by another request at this moment
            existing = services.find_user_by_email(email)
        else:
            return Registration(user, True, _confirmation_mail(user))
    hash_password(password)  # the work a new address costs; the result is not kept
    notice = _repeated_registration_notice(existing) if existing is not None else None
    record(
        None,
        actions.USER_REGISTRATION_REPEATED,
        existing,
        outcome=Outcome.FAILURE,
        email=services.normalise_email(email)[:254],
        notice_sent=notice is not None,
    )
    return Registration(existing, False, notice)


def _within_quota(kind: str, user: User) -> bool:
    return within_quota("RATELIMIT_MAIL_PER_ADDRESS", kind, user.email)


def _confirmation_mail(user: User) -> Mail | None:
    if not _within_quota("confirm", user):
        return None
    link = tokens.absolute_url("auth.verify_email", token=tokens.make_token(user, "verify"))
    subject, text = tokens.compose(
        "confirm_email", tokens.SUBJECT_CONFIRM, user, user=user, link=link,
        hours=int(tokens.CONFIRM_MAX_AGE.total_seconds() // 3600), days=UNCONFIRMED_DAYS,
    )
    return Mail(user.email, subject, text)


def _repeated_registration_notice(user: User) -> Mail | None:
    if user.status == UserStatus.SUSPENDED or not _within_quota("registration_notice", user):
        return None
    subject, text = tokens.compose(
        "registration_repeated", tokens.SUBJECT_REPEATED, user,
        login_url=tokens.absolute_url("auth.login"),
        forgot_url=tokens.absolute_url("auth.forgot_password"),
        user=user,
    )
    return Mail(user.email, subject, text)


def request_confirmation_link(email: str) -> Mail | None:
    """A new confirmation link for an account whose address is not confirmed yet. The
    answer to the requester is the same whatever happens; the audit event says what did."""
    user = services.find_user_by_email(email)
    reason = None
    if user is None:
        reason = "unknown_email"
    elif user.email_confirmed:
        reason = "already_confirmed"
    elif user.password_hash is None or user.status == UserStatus.SUSPENDED:
        reason = f"status_{user.status}"  # an admin's invitation uses its set-password link
    message = None if reason else _confirmation_mail(user)
    if reason is None and message is None:
        reason = "address_limit"
    record(
        None,  # whoever typed the address; the account is the resource
        actions.USER_CONFIRMATION_REQUESTED,
        user,
        outcome=Outcome.FAILURE if reason else Outcome.SUCCESS,
        **({"reason": reason} if reason else {}),
        **({"email": services.normalise_email(email)[:254]} if user is None else {}),
    )
    return message


def confirm_email(token: str, *, ip: str | None, user_agent: str | None) -> User:
    """Confirm the address of the link's account, activate it and open its first session.

    Raises TokenError when the link is expired, used (the address is confirmed already,
    also by a second click at the same moment), replaced or not valid."""
    user, _ = tokens.user_for_token(token, ("verify",))
    if not services.confirm_address(user, via="confirmation_link"):
        raise tokens.TokenError(tokens.ALREADY_CONFIRMED)
    session_record = sessions.start_session(user, remember=False, ip=ip, user_agent=user_agent)
    user.last_login_at = utcnow()
    record(user, actions.LOGIN, user, session_id=session_record.id, remember=False,
           via="email_confirmation")
    awarding.on_event(user, *achievement_rules.ON_LOGIN)
    return user


def _unconfirmed_before(cutoff: datetime):
    """Self-registered accounts whose address was never confirmed, made before ``cutoff``.
    (An admin's invitation has no password until its link is used, and is kept.)"""
    return sa.and_(
        User.status == UserStatus.PENDING,
        User.email_confirmed_at.is_(None),
        User.password_hash.is_not(None),
        User.role == Role.STUDENT,
        User.created_at < cutoff,
        # Never an account an audit event names as its actor: removing it would change the
        # chain. Events of unconfirmed accounts name none (audit.services), so none does.
        ~sa.exists().where(AuditEvent.actor_id == User.id),
    )


def purge_unconfirmed(now: datetime | None = None, days: int = UNCONFIRMED_DAYS) -> list[str]:
    """Remove self-registered accounts left unconfirmed for ``days``; returns their
    addresses. Idempotent; each removal is audited. An account confirmed at the same
    moment is kept: each DELETE repeats the condition, and only what it removed counts."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    condition = _unconfirmed_before(cutoff)
    removed = []
    for user_id, email, created_at in db.session.execute(
        sa.select(User.id, User.email, User.created_at).where(condition).order_by(User.id)
    ).all():
        try:
            with db.session.begin_nested():
                result = db.session.execute(
                    sa.delete(User).where(User.id == user_id, condition)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:  # something refers to it after all: keep it, and say so
            log.warning("unconfirmed account %s is referred to; not removed", user_id)
            continue
        if result.rowcount == 1:  # the DELETE bypassed the flush that keeps the counts
            removed_user = summary.user_contribution(Role.STUDENT, UserStatus.PENDING, created_at)
            summary.adjust(db.session.connection(), summary.minus(removed_user))
            record(None, actions.USER_UNCONFIRMED_REMOVED, ("user", user_id), email=email,
                   registered_at=created_at, days=days)
            removed.append(email)
    return removed
