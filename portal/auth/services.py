"""Account services: plain functions, the acting user explicit, no commits.

Every function that changes state records its audit event; the route or CLI
command commits, so the change and its event land together or not at all.
Links and their mail are in ``portal.auth.tokens``; registration and the confirmation
of its address in ``portal.auth.registration``.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from babel import dates as babel_dates
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError

from portal import dates, fonts, i18n
from portal.achievements import awarding
from portal.achievements import rules as achievement_rules
from portal.audit import actions
from portal.audit.services import record
from portal.auth import lockout, policy, sessions
from portal.auth.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses.rules import needs_guardian_consent
from portal.models.audit import Outcome
from portal.models.notification import Category
from portal.models.user import Role, User, UserSession, UserStatus
from portal.notifications.services import notify
from portal.stats import summary


class AuthError(PortalError):
    """A refused login or account change; the message is safe to show.

    ``locks_started``: the lockouts this refusal started (``lockout.Notice``), which the
    caller mails to the owner once it has committed (``tokens.send_lockout_notices``)."""

    locks_started: tuple = ()


class EmailTaken(AuthError):
    """The address already has an account (also when taken at the same moment)."""


class Unconfirmed(AuthError):
    """The right password for an account whose address is not confirmed yet."""

    def __init__(self, message: str, email: str):
        super().__init__(message)
        self.email = email


GENERIC_LOGIN_ERROR = _l("E-mail or password is not correct.")
UNCONFIRMED_MESSAGE = _l(
    "Your e-mail address is not confirmed yet. Open the link we sent to it, or ask for a new one."
)
EMAIL_TAKEN = _l(
    "An account with this e-mail address already exists. Log in, or reset your password."
)

MIN_AGE = 5
MAX_AGE = 120


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
    """Create an account. Raises EmailTaken (field ``email``) when the e-mail is taken,
    also when another request takes it at the same moment.

    An account created ``active`` (by an admin or the command line) counts as confirmed:
    whoever made it vouches for the address. A ``pending`` one waits for its owner to
    open a link mailed to the address (a registration's confirmation link, or the
    set-password link of an account an admin created)."""
    if role not in Role.ALL:
        raise AuthError(_("Unknown role %(role)s.", role=repr(role)), "role")
    if status not in UserStatus.ALL:
        raise AuthError(_("Unknown status %(status)s.", status=repr(status)), "status")
    name = validate_name(name)
    if find_user_by_email(email) is not None:
        raise EmailTaken(EMAIL_TAKEN, "email")
    now = utcnow()
    user = User(
        email=normalise_email(email),
        name=name,
        role=role,
        status=status,
        date_of_birth=date_of_birth,
        password_hash=hash_password(password) if password else None,
        password_changed_at=now if password else None,
        email_confirmed_at=None if status == UserStatus.PENDING else now,
        # Whoever registers reads the portal in some language already: the account keeps
        # it. An admin's invitation leaves it open for its owner (None: their browser's).
        locale=i18n.select_locale() if action == actions.USER_REGISTERED else None,
    )
    try:
        # A savepoint: a racing registration of the same address fails here alone.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise EmailTaken(EMAIL_TAKEN, "email") from None
    details = {"role": role, "email": user.email}
    if action == actions.USER_REGISTERED and needs_guardian_consent(user):
        details["needs_guardian_consent"] = True
    record(actor or user, action, user, **details)
    return user


def validate_name(name: str) -> str:
    """The name with its spaces tidied. Raises AuthError (field ``name``) when it is empty or
    has characters no installed font can draw: the certificate would print empty boxes."""
    name = " ".join((name or "").split())
    if not name:
        raise AuthError(_("Enter a name."), "name")
    if missing := fonts.undrawable(name):
        raise AuthError(ngettext(
            "The certificate cannot print %(chars)s; please leave it out of the name.",
            "The certificate cannot print %(chars)s; please leave them out of the name.",
            len(missing), chars=fonts.describe(missing)), "name")
    return name


def confirm_address(user: User, *, via: str) -> bool:
    """Record that the owner proved the address is theirs (they opened a link mailed to
    it); a pending account waiting for that becomes active. One conditional UPDATE decides
    a race between two links: returns False, changing nothing, when the address was
    confirmed already."""
    db.session.flush()  # changes made to the user so far go first; refresh() reads them back
    before = user.status
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, User.email_confirmed_at.is_(None))
        .values(
            email_confirmed_at=utcnow(),
            status=sa.case((User.status == UserStatus.PENDING, UserStatus.ACTIVE), else_=User.status),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    if result.rowcount != 1:
        return False
    if before != user.status:  # the UPDATE bypassed the flush that keeps the counts
        summary.adjust(db.session.connection(),
                       summary.moved(summary.user_contribution(user.role, before, user.created_at),
                                     summary.user_contribution(user.role, user.status, user.created_at)))
    record(user, actions.USER_EMAIL_CONFIRMED, user, via=via)
    if before != user.status:
        record(user, actions.USER_STATUS_CHANGED, user, before=before, after=user.status,
               reason="email_confirmed")
    return True


def validate_date_of_birth(value: date | None, today: date | None = None) -> None:
    """Raise AuthError (field ``date_of_birth``) unless the date is a plausible birth date."""
    today = today or date.today()
    if value is None:
        raise AuthError(_("Enter your date of birth as YYYY-MM-DD."), "date_of_birth")
    if value >= today:
        raise AuthError(_("Your date of birth must be in the past."), "date_of_birth")
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if age > MAX_AGE:
        raise AuthError(_("Please check the year of your date of birth."), "date_of_birth")
    if age < MIN_AGE:
        raise AuthError(ngettext("Students must be at least %(num)d year old.",
                                 "Students must be at least %(num)d years old.", MIN_AGE), "date_of_birth")


def validate_new_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise AuthError (field ``password``) with the first policy problem of a new password."""
    found = policy.problems(password or "", email=email, name=name)
    if found:
        raise AuthError(found[0], "password")


# -- login and lockout -------------------------------------------------------------


class AccountLocked(AuthError):
    """The account is locked from where the attempt came from; says until when."""

    def __init__(self, lock: lockout.Lock, field: str = "password", started=()):
        super().__init__(locked_message(lock.until), field)
        self.lock = lock
        self.locks_started = started


def locked_message(until) -> str:
    return _(
        "This account is locked from this device or network until %(moment)s. "
        "Reset your password, or wait until then.", moment=_clock(until)
    )


def _clock(moment) -> str:
    """``14:05 UTC`` in the reader's zone and language (rounded up to the minute), with the
    date when it is not today there (``dates.instant``)."""
    shown = moment.replace(second=0, microsecond=0)
    if shown < moment:
        shown += timedelta(minutes=1)
    if dates.day_of(shown) != dates.day_of(utcnow()):
        return dates.instant(shown)
    local = shown.astimezone(dates.reader_zone())
    return f"{babel_dates.format_time(local, 'short', locale=dates.formats_locale())} {local.tzname()}"


def _for_password_check(condition) -> User | None:
    """The account, re-read under a row lock: concurrent password checks of one account
    take turns, so each sees the counts and locks the one before it left (PostgreSQL;
    on SQLite a write transaction already holds the database).

    FOR NO KEY UPDATE, not FOR UPDATE: an audit event that names this user (a foreign key,
    checked with FOR KEY SHARE) may be written meanwhile by a transaction that holds the
    audit chain's lock; a full row lock would make the two wait for each other."""
    return db.session.scalar(
        sa.select(User).where(condition).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def login(email: str, password: str, *, remember: bool, ip: str | None, user_agent: str | None) -> User:
    """Check the credentials and open a session (``check_password``, then ``open_session``)."""
    user = check_password(email, password, ip=ip)
    return open_session(user, remember=remember, ip=ip, user_agent=user_agent)


def check_password(email: str, password: str, *, ip: str | None) -> User:
    """The first step of a login: the account whose password this is.

    Raises AuthError with one generic message for an unknown e-mail, a wrong password,
    or a suspended or pending account; the audit event says which. Raises AccountLocked
    (a subclass) when the account is locked from the client's source (``lockout``): its
    owner must be told, and that answer names no more than a wrong guess from there
    already did. The right password of an account whose address is not confirmed yet
    raises Unconfirmed (only who knows the password learns that). The caller commits in
    every case, so failures are counted and recorded, and then mails the owner about
    ``locks_started``.
    """
    user = _for_password_check(User.email == normalise_email(email))
    if user is None:
        dummy_verify(password)
        _fail(None, "unknown_email", email=normalise_email(email)[:254])
    source = lockout.source_for(ip)
    held = lockout.lock_for(user, source)
    if held is not None:
        dummy_verify(password)
        record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason="locked",
               source=held.source, until=held.until)
        raise AccountLocked(held)
    if not verify_password(user.password_hash, password):
        counted = lockout.count_failure(user, source)
        _fail(user, "wrong_password" if user.password_hash else "no_password", counted=counted)
    if user.awaiting_confirmation:
        record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason="email_unconfirmed")
        raise Unconfirmed(UNCONFIRMED_MESSAGE, user.email)
    if user.status != UserStatus.ACTIVE:
        _fail(user, f"status_{user.status}")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def open_session(user: User, *, remember: bool, ip: str | None, user_agent: str | None,
                 second_factor: str | None = None, **details) -> User:
    """The last step of a login, once every factor is checked: the source's failure count
    starts again (not before: a known password must not reset the count of wrong codes),
    and a session opens. ``second_factor`` names the one used, if any."""
    lockout.succeeded(user, lockout.source_for(ip))
    user.last_login_at = utcnow()
    i18n.adopt_visitor_choice(user)
    seen_here = sessions.known_device(user, user_agent)
    session_record = sessions.start_session(user, remember=remember, ip=ip, user_agent=user_agent)
    if second_factor:
        details["second_factor"] = second_factor
    record(user, actions.LOGIN, user, session_id=session_record.id, remember=remember, **details)
    awarding.on_event(user, *achievement_rules.ON_LOGIN)
    if not seen_here:
        notify(user, Category.SECURITY, "new_device_login", device=str(sessions.describe(user_agent)),
               ip=ip, session_id=session_record.id)
    return user


def second_step(user_id: int, verify, *, ip: str | None):
    """The second step of a login or a step-up: ``verify(user)`` checks the factor (a code,
    a passkey) and returns what was accepted, or raises AuthError having recorded why.

    The account is re-read under the row lock, as for a password: a refusal counts toward
    the same lockout of the client's source, and while that source is locked nothing is
    checked (AccountLocked, field ``code``). Returns ``(user, accepted)``."""
    user = _for_password_check(User.id == user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        raise AuthError(_("Your login has ended; log in again."), "code")
    source = lockout.source_for(ip)
    held = lockout.lock_for(user, source)
    if held is not None:
        record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason="locked",
               source=held.source, until=held.until, step="second_factor")
        raise AccountLocked(held, "code")
    try:
        return user, verify(user)
    except AuthError as exc:
        counted = lockout.count_failure(user, source)
        started = _worth_telling(user, counted)
        if counted.applies is not None:
            raise AccountLocked(counted.applies, "code", started=started) from None
        exc.locks_started = started
        raise


def _fail(user: User | None, reason: str, counted: lockout.Failure | None = None, **details) -> None:
    record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason=reason, **details)
    started = _worth_telling(user, counted)
    if counted is not None and counted.applies is not None:
        raise AccountLocked(counted.applies, started=started)
    error = AuthError(GENERIC_LOGIN_ERROR, "password")
    error.locks_started = started
    raise error


def _worth_telling(user: User | None, counted: lockout.Failure | None) -> tuple:
    """The locks just started that the owner hears of: one mail per lock, and none for a
    source's lock while another source's lock is in force (they were told already)."""
    if user is None or counted is None:
        return ()
    return tuple(lockout.Notice(user.email, user.name, lock, user.locale, user.timezone)
                 for lock in counted.started
                 if lock.account_wide or not lockout.other_lock_in_force(user, lock))


def is_locked(user: User) -> bool:
    """True when some source (or the account as a whole) is locked out of ``user``."""
    return lockout.is_locked(user)


def unlock(user: User, actor: User | None) -> None:
    """Lift every lockout of the account and reset the failure counts (admin action)."""
    was_locked = lockout.clear(user)
    record(actor, actions.USER_UNLOCKED, user, was_locked=was_locked)


def logout(user: User, session_record: UserSession | None) -> None:
    if session_record is not None:
        sessions.revoke(session_record, "logout")
    record(user, actions.LOGOUT, user, session_id=getattr(session_record, "id", None))


# -- sessions ------------------------------------------------------------------------


def revoke_session(user: User, session_record: UserSession, *, actor: User) -> None:
    """End one of the user's sessions. The caller has checked it is theirs."""
    if session_record.user_id != user.id:
        raise AuthError(_("This session is not yours."))
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
        raise AuthError(_("Unknown status %(status)s.", status=repr(status)), "status")
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
        raise AuthError(_("Unknown role %(role)s.", role=repr(role)), "role")
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


def store_password(user: User, password: str) -> None:
    """Hash and store a new password; every lockout of the account ends with it."""
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    lockout.clear(user)


def check_current_password(user: User, password: str, *, ip: str | None, action: str) -> None:
    """Re-check the signed-in user's password before an account change (``action``, the
    audit action recorded as failed on a refusal). A wrong password counts toward the
    lockout of the client's source like a wrong login; while that source is locked the
    password is not checked. Raises AuthError or AccountLocked (field ``current_password``)
    carrying ``locks_started``; the caller commits either way, then mails those notices."""
    _for_password_check(User.id == user.id)
    source = lockout.source_for(ip)
    held = lockout.lock_for(user, source)
    if held is not None:
        dummy_verify(password or "")
        record(user, action, user, outcome=Outcome.FAILURE, reason="locked",
               source=held.source, until=held.until)
        raise AccountLocked(held, "current_password")
    if not verify_password(user.password_hash, password or ""):
        record(user, action, user, outcome=Outcome.FAILURE, reason="wrong_current_password")
        counted = lockout.count_failure(user, source)
        started = _worth_telling(user, counted)
        if counted.applies is not None:
            raise AccountLocked(counted.applies, "current_password", started=started)
        error = AuthError(_("Your current password is not correct."), "current_password")
        error.locks_started = started
        raise error


def change_password(user: User, current_password: str, new_password: str, *, ip: str | None = None) -> int:
    """Change the user's own password; every other session ends. Returns how many.

    Raises AuthError (field ``current_password`` or ``password``). A wrong current
    password counts toward the lockout of the client's source like a wrong login, and
    while that source is locked (AccountLocked) the current password is not checked."""
    check_current_password(user, current_password, ip=ip, action=actions.PASSWORD_CHANGED)
    validate_new_password(new_password, email=user.email, name=user.name)
    if verify_password(user.password_hash, new_password):
        raise AuthError(_("Choose a password different from your current one."), "password")
    store_password(user, new_password)
    ended = sessions.revoke_all(user.id, "password_changed", except_id=user.current_session_id)
    record(user, actions.PASSWORD_CHANGED, user, sessions_ended=len(ended))
    notify(user, Category.SECURITY, "password_changed")
    return len(ended)
