"""Account services: plain functions, the acting user explicit, no commits.

Every function that changes state records its audit event; the route or CLI
command commits, so the change and its event land together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from portal import mail
from portal.audit import actions
from portal.audit.services import record
from portal.auth import policy, sessions
from portal.auth.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses.rules import needs_guardian_consent
from portal.models.audit import Outcome
from portal.models.user import Role, User, UserSession, UserStatus


class AuthError(PortalError):
    """A refused login or account change; the message is safe to show."""


class TokenError(AuthError):
    """A password-reset link that is expired, used, tampered with or unknown."""


GENERIC_LOGIN_ERROR = "E-mail or password is not correct."
EMAIL_TAKEN = "An account with this e-mail address already exists. Log in, or reset your password."

MIN_AGE = 5
MAX_AGE = 120

RESET_MAX_AGE = timedelta(hours=1)
SET_PASSWORD_MAX_AGE = timedelta(days=3)
_TOKEN_SALT = "portal.auth.password-reset"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


# -- accounts --------------------------------------------------------------------


def create_user(
    email: str,
    name: str,
    role: str = Role.STUDENT,
    *,
    password: str | None = None,
    actor: User | None = None,
    status: str = UserStatus.ACTIVE,
    date_of_birth=None,
    action: str = actions.USER_CREATED,
) -> User:
    """Create an account. Raises AuthError (field ``email``) when the e-mail is taken,
    also when another request takes it at the same moment."""
    if role not in Role.ALL:
        raise AuthError(f"Unknown role {role!r}.", "role")
    if status not in UserStatus.ALL:
        raise AuthError(f"Unknown status {status!r}.", "status")
    if find_user_by_email(email) is not None:
        raise AuthError(EMAIL_TAKEN, "email")
    now = utcnow()
    user = User(
        email=normalise_email(email),
        name=" ".join(name.split()),
        role=role,
        status=status,
        date_of_birth=date_of_birth,
        password_hash=hash_password(password) if password else None,
        password_changed_at=now if password else None,
        failed_logins=0,
    )
    try:
        # A savepoint: a racing registration of the same address fails here alone.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise AuthError(EMAIL_TAKEN, "email") from None
    details = {"role": role, "email": user.email}
    if action == actions.USER_REGISTERED and needs_guardian_consent(user):
        details["needs_guardian_consent"] = True
    record(actor or user, action, user, **details)
    return user


def validate_date_of_birth(value: date | None, today: date | None = None) -> None:
    """Raise AuthError (field ``date_of_birth``) unless the date is a plausible birth date."""
    today = today or date.today()
    if value is None:
        raise AuthError("Enter your date of birth as YYYY-MM-DD.", "date_of_birth")
    if value >= today:
        raise AuthError("Your date of birth must be in the past.", "date_of_birth")
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if age > MAX_AGE:
        raise AuthError("Please check the year of your date of birth.", "date_of_birth")
    if age < MIN_AGE:
        raise AuthError(f"Students must be at least {MIN_AGE} years old.", "date_of_birth")


def register(
    *,
    name: str,
    email: str,
    password: str,
    date_of_birth: date | None,
    ip: str | None,
    user_agent: str | None,
) -> User:
    """Create an active student and open their first session.

    Raises AuthError with the field it belongs to (email, password, date_of_birth)."""
    validate_date_of_birth(date_of_birth)
    validate_new_password(password, email=email, name=name)
    user = create_user(
        email,
        name,
        Role.STUDENT,
        password=password,
        date_of_birth=date_of_birth,
        action=actions.USER_REGISTERED,
    )
    session_record = sessions.start_session(user, remember=False, ip=ip, user_agent=user_agent)
    user.last_login_at = utcnow()
    record(user, actions.LOGIN, user, session_id=session_record.id, remember=False, via="registration")
    return user


def validate_new_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise AuthError (field ``password``) with the first policy problem of a new password."""
    found = policy.problems(password or "", email=email, name=name)
    if found:
        raise AuthError(found[0], "password")


# -- login and lockout -------------------------------------------------------------


LOCKED_MESSAGE = "Too many wrong passwords. Try again in a few minutes."


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def _for_password_check(condition) -> User | None:
    """The account, re-read under a row lock: concurrent password checks of one account
    take turns, so each sees the count and the lock the one before it left (PostgreSQL;
    on SQLite a write transaction already holds the database)."""
    return db.session.scalar(
        sa.select(User).where(condition).with_for_update().execution_options(populate_existing=True)
    )


def login(email: str, password: str, *, remember: bool, ip: str | None, user_agent: str | None) -> User:
    """Check the credentials and open a session.

    Raises AuthError with one generic message for every refusal (unknown e-mail,
    wrong password, locked, suspended or pending account); the audit event says
    which. The caller commits in both cases, so failures are counted and recorded.
    """
    user = _for_password_check(User.email == normalise_email(email))
    if user is None:
        dummy_verify(password)
        _fail(None, "unknown_email", email=normalise_email(email)[:254])
    if is_locked(user):
        dummy_verify(password)
        _fail(user, "locked")
    if not verify_password(user.password_hash, password):
        _count_failure(user)
        _fail(user, "wrong_password" if user.password_hash else "no_password")
    if user.status != UserStatus.ACTIVE:
        _fail(user, f"status_{user.status}")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session_record = sessions.start_session(user, remember=remember, ip=ip, user_agent=user_agent)
    record(user, actions.LOGIN, user, session_id=session_record.id, remember=remember)
    return user


def _fail(user: User | None, reason: str, **details) -> None:
    record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason=reason, **details)
    raise AuthError(GENERIC_LOGIN_ERROR, "password")


def _count_failure(user: User) -> None:
    """Count a wrong password (login or change-password); lock the account at the threshold.

    The caller holds the account's row lock (``_for_password_check``)."""
    cfg = current_app.config
    count = db.session.execute(
        sa.update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    set_committed_value(user, "failed_logins", count)
    if count >= cfg["LOCKOUT_THRESHOLD"]:
        until = utcnow() + timedelta(minutes=cfg["LOCKOUT_MINUTES"])
        user.locked_until = until
        user.failed_logins = 0
        record(
            user,
            actions.LOCKOUT,
            user,
            outcome=Outcome.FAILURE,
            failures=count,
            minutes=cfg["LOCKOUT_MINUTES"],
            until=until,
        )


def unlock(user: User, actor: User | None) -> None:
    """Lift a lockout and reset the failure count (admin action)."""
    was_locked = is_locked(user)
    user.failed_logins = 0
    user.locked_until = None
    record(actor, actions.USER_UNLOCKED, user, was_locked=was_locked)


def logout(user: User, session_record: UserSession | None) -> None:
    if session_record is not None:
        sessions.revoke(session_record, "logout")
    record(user, actions.LOGOUT, user, session_id=getattr(session_record, "id", None))


# -- sessions ------------------------------------------------------------------------


def revoke_session(user: User, session_record: UserSession, *, actor: User) -> None:
    """End one of the user's sessions. The caller has checked it is theirs."""
    if session_record.user_id != user.id:
        raise AuthError("This session is not yours.")
    sessions.revoke(session_record, "revoked_by_user")
    record(
        actor,
        actions.SESSION_REVOKED,
        session_record,
        user_id=user.id,
        current=session_record.id == user.current_session_id,
        scope="one",
    )


def revoke_other_sessions(user: User, *, actor: User) -> int:
    """End every session of the user except the one in use; returns how many ended."""
    ended = sessions.revoke_all(user.id, "revoked_by_user", except_id=user.current_session_id)
    record(actor, actions.SESSION_REVOKED, user, scope="others", count=len(ended), session_ids=ended)
    return len(ended)


def end_all_sessions(user: User, actor: User | None, reason: str) -> int:
    """End every session of a user at once (admin action); returns how many ended."""
    ended = sessions.revoke_all(user.id, reason or "ended_by_admin")
    record(actor, actions.USER_SESSIONS_ENDED, user, reason=reason, count=len(ended), session_ids=ended)
    return len(ended)


def set_status(user: User, status: str, actor: User | None, reason: str) -> None:
    """Change an account's status; the user's sessions end at once."""
    if status not in UserStatus.ALL:
        raise AuthError(f"Unknown status {status!r}.", "status")
    before = user.status
    if before == status:
        return
    user.status = status
    ended = sessions.revoke_all(user.id, f"status_{status}")
    record(
        actor,
        actions.USER_STATUS_CHANGED,
        user,
        before=before,
        after=status,
        reason=reason,
        sessions_ended=len(ended),
    )


def set_role(user: User, role: str, actor: User | None, reason: str) -> None:
    """Change an account's role; the user's sessions end at once."""
    if role not in Role.ALL:
        raise AuthError(f"Unknown role {role!r}.", "role")
    before = user.role
    if before == role:
        return
    user.role = role
    ended = sessions.revoke_all(user.id, "role_changed")
    record(
        actor,
        actions.USER_ROLE_CHANGED,
        user,
        before=before,
        after=role,
        reason=reason,
        sessions_ended=len(ended),
    )


# -- passwords ------------------------------------------------------------------------


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None


def change_password(user: User, current_password: str, new_password: str) -> int:
    """Change the user's own password; every other session ends. Returns how many.

    Raises AuthError (field ``current_password`` or ``password``). A wrong current
    password counts toward the lockout like a wrong login, and a locked account's
    current password is not checked at all."""
    _for_password_check(User.id == user.id)
    if is_locked(user):
        dummy_verify(current_password)
        record(user, actions.PASSWORD_CHANGED, user, outcome=Outcome.FAILURE, reason="locked")
        raise AuthError(LOCKED_MESSAGE, "current_password")
    if not verify_password(user.password_hash, current_password):
        record(user, actions.PASSWORD_CHANGED, user, outcome=Outcome.FAILURE, reason="wrong_current_password")
        _count_failure(user)
        raise AuthError("Your current password is not correct.", "current_password")
    validate_new_password(new_password, email=user.email, name=user.name)
    if verify_password(user.password_hash, new_password):
        raise AuthError("Choose a password different from your current one.", "password")
    _set_password(user, new_password)
    ended = sessions.revoke_all(user.id, "password_changed", except_id=user.current_session_id)
    record(user, actions.PASSWORD_CHANGED, user, sessions_ended=len(ended))
    return len(ended)


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
    _set_password(user, new_password)
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
