"""Links mailed to an account: reset, set-password and e-mail confirmation tokens,
using the password ones, and the mail about passwords (the lockout notice included).

One kind of token for every link: signed with the secret key (itsdangerous), with its
purpose and an expiry, and a fingerprint of the account so that a link dies once used.
Registration and its confirmation link live in ``portal.auth.registration``.

Plain functions like the account services; they record their audit events and
never commit. A link that cannot be used raises ``TokenError``.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal import dates, i18n, mail
from portal.audit import actions
from portal.audit.services import record
from portal.auth import lockout, sessions
from portal.auth.services import (
    AuthError,
    confirm_address,
    find_user_by_email,
    normalise_email,
    store_password,
    validate_new_password,
)
from portal.db import utcnow
from portal.extensions import db
from portal.limits import within_quota
from portal.models.audit import Outcome
from portal.models.notification import Category
from portal.models.user import User, UserStatus
from portal.notifications.services import notify


class TokenError(AuthError):
    """A link that is expired, used, tampered with or unknown."""


RESET_MAX_AGE = timedelta(hours=1)
SET_PASSWORD_MAX_AGE = timedelta(days=3)
CONFIRM_MAX_AGE = timedelta(hours=24)
# How long each kind of link works.
PURPOSES = {"reset": RESET_MAX_AGE, "set": SET_PASSWORD_MAX_AGE, "verify": CONFIRM_MAX_AGE}
PASSWORD_PURPOSES = ("reset", "set")
_TOKEN_SALT = "portal.auth.password-reset"

NOT_VALID = _l("This link is not valid. Ask for a new one.")
EXPIRED = _l("This link has expired. Ask for a new one.")
ALREADY_CONFIRMED = _l(
    "This link was already used: your address is confirmed. Log in with your password."
)

# Subjects, in the recipient's language when the mail is made (``compose``).
SUBJECT_RESET = _l("Reset your Portal password")
SUBJECT_CHANGED = _l("Your Portal password was changed")
SUBJECT_LOCKOUT = _l("Your Portal account was locked after wrong passwords")
SUBJECT_SET_PASSWORD = _l("Choose your Portal password")
SUBJECT_CONFIRM = _l("Confirm your e-mail address for Portal")
SUBJECT_REPEATED = _l("Someone tried to register with your address")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def _fingerprint(user: User, purpose: str = "reset") -> str:
    """Changes whenever the password or the status does, so a link dies after use; a
    confirmation link also dies once the address is confirmed."""
    material = f"{user.id}:{user.password_hash or ''}:{user.status}"
    if purpose == "verify":
        material += f":{user.email}:{user.email_confirmed}"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:32]


def make_token(user: User, purpose: str = "reset") -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user, purpose), "p": purpose})


def user_for_token(token: str, purposes: tuple[str, ...] = PASSWORD_PURPOSES) -> tuple[User, str]:
    """The user a link belongs to, and its purpose (one of ``purposes``).

    Raises TokenError when the link is expired, already used (the password, status or
    confirmation changed since), of another purpose, tampered with, or its account is
    gone or suspended."""
    try:
        payload, signed_at = _serializer().loads(
            token, max_age=int(max(PURPOSES.values()).total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        raise TokenError(EXPIRED) from None
    except BadSignature:
        raise TokenError(NOT_VALID) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise TokenError(NOT_VALID)
    purpose = payload.get("p", "reset")
    if purpose not in purposes:
        raise TokenError(NOT_VALID)
    if utcnow() - signed_at > PURPOSES[purpose]:
        raise TokenError(EXPIRED)
    user = db.session.get(User, payload["u"])
    if user is None or user.status in (UserStatus.SUSPENDED, UserStatus.ARCHIVED):
        raise TokenError(NOT_VALID)
    if not hmac.compare_digest(str(payload.get("f", "")), _fingerprint(user, purpose)):
        raise TokenError(_used_message(user, purpose))
    return user, purpose


def _used_message(user: User, purpose: str) -> str:
    if purpose != "verify":
        return _("This link was already used, or your password has changed since. Ask for a new one.")
    if user.email_confirmed:
        return ALREADY_CONFIRMED
    return _("This link was replaced: your account changed since it was sent. Ask for a new one.")


@dataclass
class ResetRequest:
    """What the route sends after committing (never shown to the requester)."""

    user: User | None
    link: str | None


def request_password_reset(email: str) -> ResetRequest:
    """Record a reset request and make the link for an active account, or for one still
    waiting for its address to be confirmed (choosing a password from the mailed link
    proves the address too). At most ``RATELIMIT_MAIL_PER_ADDRESS`` links an hour go to
    one address; past that the request is recorded and no mail is made.

    The answer to the requester is the same either way; the caller mails the link."""
    user = find_user_by_email(email)
    if user is None or not (user.status == UserStatus.ACTIVE or user.awaiting_confirmation):
        record(
            None,
            actions.PASSWORD_RESET_REQUESTED,
            user,
            outcome=Outcome.FAILURE,
            reason="unknown_email" if user is None else f"status_{user.status}",
            email=normalise_email(email)[:254],
        )
        return ResetRequest(None, None)
    if not within_quota("RATELIMIT_MAIL_PER_ADDRESS", "reset", user.email):
        record(user, actions.PASSWORD_RESET_REQUESTED, user, outcome=Outcome.FAILURE, reason="address_limit")
        return ResetRequest(None, None)
    record(user, actions.PASSWORD_RESET_REQUESTED, user)
    return ResetRequest(user, _link(make_token(user)))


def absolute_url(endpoint: str, **values) -> str:
    """A public URL for mail; works in a request and in CLI commands or jobs alike."""
    path = current_app.url_map.bind("portal.invalid").build(endpoint, values)
    return current_app.config["PORTAL_BASE_URL"] + path


def _link(token: str) -> str:
    return absolute_url("auth.reset_password", token=token)


def reset_password(token: str, new_password: str, *, keep_session_id: int | None = None) -> User:
    """Set a new password from a reset link; every session of the user ends
    (but ``keep_session_id``, the requester's own, if given). The link came by mail, so
    an address not yet confirmed is confirmed now (and a pending account waiting for that
    becomes active); a pending account that an admin created becomes active when its owner
    sets a password through their "set" link. Raises TokenError or AuthError."""
    user, purpose = user_for_token(token)
    validate_new_password(new_password, email=user.email, name=user.name)
    store_password(user, new_password)
    ended = sessions.revoke_all(user.id, "password_reset", except_id=keep_session_id)
    record(None, actions.PASSWORD_RESET, user, purpose=purpose, sessions_ended=len(ended))
    if purpose == "reset":
        notify(user, Category.SECURITY, "password_changed")
    if not user.email_confirmed:
        confirm_address(user, via=f"{purpose}_link")
    elif purpose == "set" and user.status == UserStatus.PENDING:
        user.status = UserStatus.ACTIVE
        record(user, actions.USER_STATUS_CHANGED, user, before=UserStatus.PENDING,
               after=UserStatus.ACTIVE, reason="password_set")
    return user


def send_reset_link(request: ResetRequest) -> None:
    """Mail the link of a reset request (from a thread, so timing does not tell)."""
    if request.user is None or request.link is None:
        return
    subject, text = compose(
        "password_reset", SUBJECT_RESET, request.user,
        user=request.user,
        link=request.link,
        minutes=int(RESET_MAX_AGE.total_seconds() // 60),
    )
    mail.send_in_background(request.user.email, subject, text)


def send_password_changed_notice(user: User) -> bool:
    subject, text = compose(
        "password_changed", SUBJECT_CHANGED, user,
        user=user, when=utcnow(), forgot_url=absolute_url("auth.forgot_password"),
    )
    return mail.send(user.email, subject, text)


def send_lockout_notices(notices) -> None:
    """Tell an owner that wrong passwords locked their account (one mail per lock; the
    caller has committed the lock). From a thread, so the answer's timing does not tell."""
    for notice in notices:
        lock = notice.lock
        with writing_for(notice):
            where = lockout.describe(lock.source)
        subject, text = compose(
            "lockout", SUBJECT_LOCKOUT, notice,
            name=notice.name,
            email=notice.email,
            account_wide=lock.account_wide,
            where=where,
            until=lock.until,
            minutes=lock.minutes,
            forgot_url=absolute_url("auth.forgot_password"),
        )
        mail.send_in_background(notice.email, subject, text)


def send_set_password_link(user: User, actor: User | None = None) -> bool:
    """Mail a link to choose a password, for an account an admin created (valid 3 days)."""
    link = _link(make_token(user, purpose="set"))
    record(actor, actions.PASSWORD_RESET_REQUESTED, user, purpose="set")
    subject, text = compose("set_password", SUBJECT_SET_PASSWORD, user,
                            user=user, link=link, days=SET_PASSWORD_MAX_AGE.days)
    return mail.send(user.email, subject, text)


# -- mail in the recipient's language ------------------------------------------------------


def mail_language(locale: str | None) -> str:
    """The language a mail is written in: the recipient's own, else English."""
    return i18n.known(locale) or i18n.DEFAULT


@contextmanager
def writing_for(reader):
    """Write for ``reader`` (a User, or a lockout Notice: anything with ``locale`` and
    ``timezone``): in their language, English when they have none, whoever's request this
    is; dates in their zone (``dates.reading_as``)."""
    if reader is None:
        yield
        return
    with force_locale(mail_language(getattr(reader, "locale", None))), dates.reading_as(reader):
        yield


def render_mail(template: str, reader=None, **context) -> str:
    """The text of a mail, written for ``reader`` (by default the ``user`` it is about)."""
    with writing_for(reader if reader is not None else context.get("user")):
        return render_template(
            f"mail/{template}.txt", academy_name=current_app.config["PORTAL_ACADEMY_NAME"], **context
        )


def compose(template: str, subject, reader, **context) -> tuple[str, str]:
    """Subject and text of a mail to ``reader``, both in their language."""
    with writing_for(reader):
        return str(subject), render_mail(template, reader, **context)
