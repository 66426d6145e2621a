"""Two-factor sign-in: TOTP (RFC 6238) and one-time recovery codes (SPEC §9).

Plain services, the acting user explicit, no commits. The secret is sealed with the
instance's key (``TOTP_KEY``, ``instance/totp_key``); recovery codes are kept as keyed
hashes. A TOTP code is accepted at most once: the last accepted time step is stored and
advanced by one conditional UPDATE, so of two logins racing with one code, one wins.

The login steps that use these (the pending login, the session, step-up) are in
``portal.auth.second_factor``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.audit import actions
from portal.audit.services import record
from portal.auth import sessions
from portal.auth.passwords import verify_password
from portal.auth.services import AuthError
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.notification import Category
from portal.models.passkey import Passkey
from portal.models.user import RecoveryCode, TrustedDevice, User
from portal.notifications.services import notify

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a code of the step before or after is accepted (clock drift)
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
TRUSTED_DEVICE_DAYS = 30

SUBJECT_CHANGED = _l("Two-factor sign-in on your Portal account changed")


class TwoFactorError(AuthError):
    """A refused code or change; the message is safe to show next to ``field``."""


WRONG_CODE = _l("That code is not correct. Enter the current code from your app, or a recovery code.")
REPLAYED_CODE = _l("That code was already used. Wait for the next code from your app.")


# -- the instance's key -----------------------------------------------------------------


def _key(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portal " + purpose).derive(
        current_app.config["TOTP_KEY"].encode()
    )


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key(b"totp secret")))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise TwoFactorError(_("This account's two-factor secret cannot be read with this "
                               "instance's key; an admin can reset two-factor sign-in.")) from None


# -- TOTP ------------------------------------------------------------------------------------


def has_totp(user: User) -> bool:
    return user is not None and user.totp_enabled_at is not None and user.totp_secret is not None


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def normalise_code(code: str | None) -> str:
    """What was typed, without spaces, dashes and case (a pasted recovery code)."""
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def looks_like_totp(code: str) -> bool:
    return len(code) == DIGITS and code.isdigit()


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step within the drift window whose code is ``code``, if any."""
    totp, current = _totp(secret), step_at(now or utcnow())
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


def _claim_step(user: User, step: int) -> bool:
    """Advance the user's last accepted step to ``step``: one conditional UPDATE, so of
    two requests with the same code (or an older one) only one can succeed."""
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id,
               sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        user.totp_last_step = step
        return True
    return False


def usable_code(user: User, now: datetime | None = None, *, earliest: bool = False) -> tuple[str, int] | None:
    """A code that would be accepted now and the seconds it stays good (the demo's
    ``users totp`` command and tests): the current step's, or the next one's when it was
    used; with ``earliest``, the earliest step in the window not used yet (tests that
    log in several times in a row)."""
    if not has_totp(user):
        return None
    now = now or utcnow()
    current = step_at(now)
    totp = _totp(unseal(user.totp_secret))
    first = current - DRIFT_STEPS if earliest else current
    for step in range(first, current + DRIFT_STEPS + 1):
        if user.totp_last_step is None or step > user.totp_last_step:
            left = (step + DRIFT_STEPS + 1) * STEP_SECONDS - int(now.timestamp())
            return totp.at(step * STEP_SECONDS), left
    return None


def code_at(secret: str, step: int) -> str:
    """The code of a time step (the demo's enrolment, tests)."""
    return _totp(secret).at(step * STEP_SECONDS)


def provisioning_uri(user: User, secret: str) -> str:
    return _totp(secret).provisioning_uri(name=user.email,
                                          issuer_name=current_app.config["PORTAL_ACADEMY_NAME"])


# -- recovery codes ------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hmac.new(_key(b"recovery code"), normalise_code(code).encode(), hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    now = utcnow()
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(c), created_at=now) for c in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ) or 0


def are_current_codes(user: User, codes: list[str]) -> bool:
    """Whether each code is one of the user's unused recovery codes (for the download)."""
    hashes = {_code_hash(c) for c in codes}
    found = db.session.scalar(
        sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                                         RecoveryCode.code_hash.in_(hashes))
    )
    return bool(codes) and found == len(hashes) == len(codes)


def _use_recovery_code(user: User, code: str) -> bool:
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


# -- checking a code at login or step-up ------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    method: str  # "totp" or "recovery_code"
    codes_left: int | None = None


def check_code(user: User, code: str, *, purpose: str) -> Accepted:
    """Accept a TOTP code or a recovery code of ``user`` once. ``purpose`` ("login",
    "step_up") goes into the audit event. Raises TwoFactorError (field ``code``) for a
    wrong, expired or replayed code; the caller counts it toward the lockout."""
    typed = normalise_code(code)
    if not typed:
        raise TwoFactorError(_("Enter the code from your app, or a recovery code."), "code")
    if looks_like_totp(typed) and has_totp(user):
        step = matching_step(unseal(user.totp_secret), typed)
        if step is None:
            _refused(user, "wrong_code", purpose)
            raise TwoFactorError(WRONG_CODE, "code")
        if not _claim_step(user, step):
            _refused(user, "replayed_code", purpose)
            raise TwoFactorError(REPLAYED_CODE, "code")
        return Accepted("totp")
    if _use_recovery_code(user, typed):
        left = recovery_codes_left(user)
        record(user, actions.RECOVERY_CODE_USED, user, purpose=purpose, codes_left=left)
        notify(user, Category.SECURITY, "recovery_code_used")
        return Accepted("recovery_code", left)
    _refused(user, "wrong_code", purpose)
    raise TwoFactorError(WRONG_CODE, "code")


def _refused(user: User, reason: str, purpose: str) -> None:
    record(user, actions.SECOND_FACTOR_FAILED, user, outcome=Outcome.FAILURE, reason=reason, purpose=purpose)


# -- enrolment and changes ---------------------------------------------------------------


def start_enrolment(user: User) -> str:
    """A new secret for ``user``, kept sealed until confirmed; returns it (base32) to show.
    Raises TwoFactorError when two-factor sign-in is on already."""
    if has_totp(user):
        raise TwoFactorError(_("Two-factor sign-in is already on."))
    secret = pyotp.random_base32()
    user.totp_secret = seal(secret)
    user.totp_enabled_at = None
    return secret


def pending_secret(user: User) -> str | None:
    if user.totp_secret is None or has_totp(user):
        return None
    return unseal(user.totp_secret)


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn TOTP on when ``code`` matches the secret being enrolled; returns the ten new
    recovery codes (shown once). The step of this code counts as used: it cannot also log in.
    Raises TwoFactorError (field ``code``)."""
    secret = pending_secret(user)
    if secret is None:
        raise TwoFactorError(_("Start again: set up two-factor sign-in first."), "code")
    step = matching_step(secret, normalise_code(code))
    if step is None:
        record(user, actions.SECOND_FACTOR_FAILED, user, outcome=Outcome.FAILURE, reason="wrong_code",
               purpose="enrolment")
        raise TwoFactorError(_("That code is not correct. Check the time on your phone and enter "
                               "the current code."), "code")
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    record(user, actions.TWO_FACTOR_ENABLED, user, method="totp")
    notify(user, Category.SECURITY, "two_factor_enabled")
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """A new set of ten; the old ones stop working. Raises TwoFactorError when off."""
    if not has_totp(user):
        raise TwoFactorError(_("Turn on two-factor sign-in first."))
    codes = _replace_recovery_codes(user)
    record(user, actions.RECOVERY_CODES_REGENERATED, user, count=len(codes))
    notify(user, Category.SECURITY, "recovery_codes_renewed")
    return codes


def _turn_off(user: User) -> int:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return revoke_trusted_devices(user)


def disable(user: User, current_password: str, code: str, *, required: bool) -> None:
    """The owner turns two-factor sign-in off with their password and a current code.
    Raises TwoFactorError: refused when it is ``required`` (admins), or for a wrong
    password (field ``current_password``) or code (field ``code``)."""
    if required:
        raise TwoFactorError(_("Admins must use two-factor sign-in; it cannot be turned off."))
    if not has_totp(user):
        raise TwoFactorError(_("Two-factor sign-in is already off."))
    if not verify_password(user.password_hash, current_password or ""):
        record(user, actions.TWO_FACTOR_DISABLED, user, outcome=Outcome.FAILURE, reason="wrong_password")
        raise TwoFactorError(_("Your current password is not correct."), "current_password")
    check_code(user, code, purpose="disable")
    forgotten = _turn_off(user)
    record(user, actions.TWO_FACTOR_DISABLED, user, trusted_devices_revoked=forgotten)
    notify(user, Category.SECURITY, "two_factor_disabled")


def reset_by_admin(user: User, actor: User, reason: str) -> None:
    """An admin turns off a user's two-factor sign-in (a lost phone and codes), with a
    reason; the user's sessions end. Raises TwoFactorError when it is off already."""
    reason = (reason or "").strip()
    if not reason:
        raise TwoFactorError(_("Give a reason."), "reason")
    has_passkeys = db.session.scalar(sa.select(Passkey.id).where(Passkey.user_id == user.id).limit(1))
    if user.totp_secret is None and has_passkeys is None:
        raise TwoFactorError(_("Two-factor sign-in is not on for this account."), "reason")
    forgotten = _turn_off(user)
    # Lost devices hold the passkeys too: they go, so the password alone logs in again.
    passkeys_removed = db.session.execute(sa.delete(Passkey).where(Passkey.user_id == user.id)).rowcount
    ended = sessions.revoke_all(user.id, "two_factor_reset")
    record(actor, actions.TWO_FACTOR_RESET, user, reason=reason, sessions_ended=len(ended),
           trusted_devices_revoked=forgotten, passkeys_removed=passkeys_removed)
    notify(user, Category.SECURITY, "two_factor_reset")


# -- trusted devices ("remember this device for 30 days") ---------------------------------


def trust_device(user: User, *, ip: str | None, user_agent: str | None) -> str:
    """Remember this browser for 30 days; returns the token for its cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    device = TrustedDevice(token_hash=sessions.hash_token(token), user_id=user.id, created_at=now,
                           expires_at=now + timedelta(days=TRUSTED_DEVICE_DAYS), last_used_at=now,
                           ip=ip, user_agent=(user_agent or "")[:512] or None)
    db.session.add(device)
    db.session.flush()
    record(user, actions.TRUSTED_DEVICE_ADDED, device, user_id=user.id, days=TRUSTED_DEVICE_DAYS)
    return token


def trusted_device(user: User, token: str | None) -> TrustedDevice | None:
    """The user's trusted device this cookie names, while it is in force."""
    if not token:
        return None
    return db.session.scalar(sa.select(TrustedDevice).where(
        TrustedDevice.token_hash == sessions.hash_token(token), TrustedDevice.user_id == user.id,
        TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > utcnow()))


def trusted_devices(user_id: int) -> list[TrustedDevice]:
    return list(db.session.scalars(
        sa.select(TrustedDevice)
        .where(TrustedDevice.user_id == user_id, TrustedDevice.revoked_at.is_(None),
               TrustedDevice.expires_at > utcnow())
        .order_by(TrustedDevice.created_at.desc(), TrustedDevice.id.desc())))


def revoke_trusted_device(device: TrustedDevice, actor: User) -> None:
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        record(actor, actions.TRUSTED_DEVICE_REVOKED, device, user_id=device.user_id)


def revoke_trusted_devices(user: User) -> int:
    result = db.session.execute(
        sa.update(TrustedDevice)
        .where(TrustedDevice.user_id == user.id, TrustedDevice.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
