"""Password links: reset and set-password tokens, using them, and the mail about them
(the lockout notice included).

Plain functions like the account services; they record their audit events and
never commit. A link that cannot be used raises ``TokenError``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal import mail
from portal.audit import actions
from portal.audit.services import record
from portal.auth import lockout, sessions
from portal.auth.services import (
    AuthError,
    find_user_by_email,
    normalise_email,
    store_password,
    validate_new_password,
)
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.user import User, UserStatus


class TokenError(AuthError):
    """A password-reset link that is expired, used, tampered with or unknown."""


RESET_MAX_AGE = timedelta(hours=1)
SET_PASSWORD_MAX_AGE = timedelta(days=3)
_TOKEN_SALT = "portal.auth.password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def _fingerprint(user: User) -> str:
    """Changes whenever the password does, so a link dies after use."""
    material = f"{user.id}:{user.password_hash or ''}:{user.status}".encode()
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:32]


def make_reset_token(user: User, purpose: str = "reset") -> str:
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user), "p": purpose})


def user_for_token(token: str) -> tuple[User, str]:
    """The user a reset link belongs to, and its purpose ("reset" or "set").

    Raises TokenError when the link is expired, already used (the password changed
    since), tampered with, or its account is gone or not active."""
    serializer = _serializer()
    try:
        payload, signed_at = serializer.loads(
            token, max_age=int(SET_PASSWORD_MAX_AGE.total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        raise TokenError("This link has expired. Ask for a new one.") from None
    except BadSignature:
        raise TokenError("This link is not valid. Ask for a new one.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise TokenError("This link is not valid. Ask for a new one.")
    purpose = payload.get("p", "reset")
    max_age = RESET_MAX_AGE if purpose == "reset" else SET_PASSWORD_MAX_AGE
    if utcnow() - signed_at > max_age:
        raise TokenError("This link has expired. Ask for a new one.")
    user = db.session.get(User, payload["u"])
    if user is None or user.status == UserStatus.SUSPENDED:
        raise TokenError("This link is not valid. Ask for a new one.")
    if not hmac.compare_digest(str(payload.get("f", "")), _fingerprint(user)):
        raise TokenError("This link was already used, or your password has changed since. Ask for a new one.")
    return user, purpose


@dataclass
class ResetRequest:
    """What the route sends after committing (never shown to the requester)."""

    user: User | None
    link: str | None


def request_password_reset(email: str) -> ResetRequest:
    """Record a reset request and make the link for an active account.

    The answer to the requester is the same either way; the caller mails the link."""
    user = find_user_by_email(email)
    if user is None or user.status != UserStatus.ACTIVE:
        record(
            None,
            actions.PASSWORD_RESET_REQUESTED,
            user,
            outcome=Outcome.FAILURE,
            reason="unknown_email" if user is None else f"status_{user.status}",
            email=normalise_email(email)[:254],
        )
        return ResetRequest(None, None)
    record(user, actions.PASSWORD_RESET_REQUESTED, user)
    return ResetRequest(user, _link(make_reset_token(user)))


def _absolute(endpoint: str, **values) -> str:
    """A public URL for mail; works in a request and in CLI commands or jobs alike."""
    path = current_app.url_map.bind("portal.invalid").build(endpoint, values)
    return current_app.config["PORTAL_BASE_URL"] + path


def _link(token: str) -> str:
    return _absolute("auth.reset_password", token=token)


def reset_password(token: str, new_password: str, *, keep_session_id: int | None = None) -> User:
    """Set a new password from a reset link; every session of the user ends
    (but ``keep_session_id``, the requester's own, if given). A pending account that an
    admin created becomes active when its owner sets a password through their "set"
    link. Raises TokenError or AuthError."""
    user, purpose = user_for_token(token)
    validate_new_password(new_password, email=user.email, name=user.name)
    store_password(user, new_password)
    ended = sessions.revoke_all(user.id, "password_reset", except_id=keep_session_id)
    record(None, actions.PASSWORD_RESET, user, purpose=purpose, sessions_ended=len(ended))
    if purpose == "set" and user.status == UserStatus.PENDING:
        user.status = UserStatus.ACTIVE
        record(user, actions.USER_STATUS_CHANGED, user, before=UserStatus.PENDING,
               after=UserStatus.ACTIVE, reason="password_set")
    return user


def send_reset_link(request: ResetRequest) -> None:
    """Mail the link of a reset request (from a thread, so timing does not tell)."""
    if request.user is None or request.link is None:
        return
    text = _render_mail(
        "password_reset",
        user=request.user,
        link=request.link,
        minutes=int(RESET_MAX_AGE.total_seconds() // 60),
    )
    mail.send_in_background(request.user.email, "Reset your Portal password", text)


def send_password_changed_notice(user: User) -> bool:
    text = _render_mail(
        "password_changed", user=user, when=utcnow(), forgot_url=_absolute("auth.forgot_password")
    )
    return mail.send(user.email, "Your Portal password was changed", text)


def send_lockout_notices(notices) -> None:
    """Tell an owner that wrong passwords locked their account (one mail per lock; the
    caller has committed the lock). From a thread, so the answer's timing does not tell."""
    for notice in notices:
        lock = notice.lock
        text = _render_mail(
            "lockout",
            name=notice.name,
            email=notice.email,
            account_wide=lock.account_wide,
            where=lockout.describe(lock.source),
            until=lock.until,
            minutes=lock.minutes,
            forgot_url=_absolute("auth.forgot_password"),
        )
        mail.send_in_background(notice.email, "Your Portal account was locked after wrong passwords", text)


def send_set_password_link(user: User, actor: User | None = None) -> bool:
    """Mail a link to choose a password, for an account an admin created (valid 3 days)."""
    link = _link(make_reset_token(user, purpose="set"))
    record(actor, actions.PASSWORD_RESET_REQUESTED, user, purpose="set")
    text = _render_mail("set_password", user=user, link=link, days=SET_PASSWORD_MAX_AGE.days)
    return mail.send(user.email, "Choose your Portal password", text)


def _render_mail(template: str, **context) -> str:
    return render_template(
        f"mail/{template}.txt", academy_name=current_app.config["PORTAL_ACADEMY_NAME"], **context
    )
