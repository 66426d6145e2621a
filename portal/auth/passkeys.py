"""Passkeys (WebAuthn, with py_webauthn): adding one to an account, logging in with one
without a password, naming and removing them.

Each ceremony has two steps. The options step makes a random challenge, stores it
(``PasskeyChallenge``, five minutes) and the caller keeps it in the browser's session;
the verify step takes it back with one conditional DELETE, so a challenge is answered at
most once, by the browser it was given to, even when two answers race.

What the browser sends is checked by py_webauthn against the relying party
(``relying_party``: the RP ID and origin from the settings, or from PORTAL_BASE_URL),
the challenge and the stored public key. Anything wrong, a passkey made for another site
included, is a ``PasskeyError`` with a message for the person and an audit event with the
reason; the caller commits either way, so the challenge stays used and the event stays.

Plain functions like the account services: they record their audit events, never commit.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portal import mail, names
from portal.audit import actions
from portal.audit.services import record
from portal.auth import services
from portal.auth.tokens import absolute_url, compose
from portal.db import utcnow
from portal.exceptions import NotYours, PortalError
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.notification import Category
from portal.models.passkey import Passkey, PasskeyChallenge
from portal.models.user import User, UserStatus
from portal.notifications.services import notify

CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000
NAME_MAX = 64
# ES256 first: every authenticator has it; Ed25519 and RS256 (Windows Hello) after.
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]

# What a challenge is for; the verify step must be the same kind.
REGISTER = "register"
LOGIN = "login"
SECOND_FACTOR = "second_factor"

SUBJECT_ADDED = _l("A passkey was added to your Portal account")
SUBJECT_REMOVED = _l("A passkey was removed from your Portal account")

# The messages a person reads; the audit event keeps the precise reason.
NOT_ACCEPTED = _l("This passkey could not be checked, so it was not accepted. Try again.")
MESSAGES = {
    "challenge": _l("This passkey request has expired or was already used. Try again."),
    "origin": _l("This passkey answered for another website, so it was not accepted."),
    "rp_id": _l("This passkey belongs to another website, so it was not accepted."),
    "user_verification": _l(
        "Your device did not verify that it is you (with a PIN, fingerprint or face). Try again."),
    "unknown": _l("This passkey is not registered with Portal. Log in with your password, "
                  "then add the passkey on your account page."),
    "counter": _l("This passkey's signature counter went backwards, which can mean it was copied. "
                  "It was refused; use another way to log in and check your passkeys."),
    "duplicate": _l("This passkey is already registered."),
    "account": _l("This account cannot log in at the moment."),
    "no_login": _l("Your login has ended; log in again."),
}


class PasskeyError(services.AuthError):
    """A refused ceremony; ``reason`` is what the audit event says. An AuthError, so a
    refused second step counts toward the lockout like a wrong code."""

    status = 400

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(MESSAGES.get(reason, NOT_ACCEPTED), field)
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party() -> RelyingParty:
    """The RP ID (a domain, never an IP address) and the origin passkeys answer from.

    Set by PORTAL_PASSKEY_RP_ID and PORTAL_PASSKEY_ORIGIN, or taken from PORTAL_BASE_URL.
    Browsers refuse an IP address as the RP ID, so a base URL on the loopback address
    (development, the tests) means ``localhost`` on the same port: open the portal there
    to use passkeys."""
    cfg = current_app.config
    base = urlsplit(cfg["PORTAL_BASE_URL"])
    host, port = base.hostname or "localhost", base.port
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    origin = cfg.get("PASSKEY_ORIGIN") or f"{base.scheme}://{host}" + (f":{port}" if port else "")
    rp_id = cfg.get("PASSKEY_RP_ID") or urlsplit(origin).hostname or host
    return RelyingParty(rp_id, origin, cfg["PORTAL_ACADEMY_NAME"])


# -- challenges ------------------------------------------------------------------------


def _issue_challenge(purpose: str, user: User | None) -> str:
    """A new challenge for ``purpose`` (base64url); expired ones are swept on the way."""
    now = utcnow()
    db.session.execute(sa.delete(PasskeyChallenge).where(PasskeyChallenge.expires_at <= now))
    challenge = bytes_to_base64url(secrets.token_bytes(32))
    db.session.add(PasskeyChallenge(challenge=challenge, purpose=purpose,
                                    user_id=getattr(user, "id", None), expires_at=now + CHALLENGE_LIFETIME))
    return challenge


def _take_challenge(challenge: str | None, purpose: str, user: User | None) -> bytes:
    """Use up the challenge this browser was given; PasskeyError("challenge") when it is
    unknown, expired, for another purpose or user, or already used."""
    if not challenge:
        raise PasskeyError("challenge")
    owner = PasskeyChallenge.user_id.is_(None) if user is None else PasskeyChallenge.user_id == user.id
    taken = db.session.execute(
        sa.delete(PasskeyChallenge).where(
            PasskeyChallenge.challenge == challenge, PasskeyChallenge.purpose == purpose, owner,
            PasskeyChallenge.expires_at > utcnow()),
        execution_options={"synchronize_session": False},
    )
    if taken.rowcount != 1:
        raise PasskeyError("challenge")
    return base64url_to_bytes(challenge)


def _reason(exc: Exception) -> str:
    """The audit reason for what py_webauthn refused (its messages name the check)."""
    text = str(exc).lower()
    for needle, reason in (("origin", "origin"), ("rp id", "rp_id"), ("challenge", "challenge"),
                           ("user verification", "user_verification"), ("signature", "signature")):
        if needle in text:
            return reason
    return "malformed"


# -- adding a passkey --------------------------------------------------------------------


def user_passkeys(user: User) -> list[Passkey]:
    return list(db.session.scalars(
        sa.select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at, Passkey.id)))


def _user_handle(user: User) -> str:
    """The account's id on authenticators: random, the same for each of its passkeys."""
    existing = db.session.scalar(sa.select(Passkey.user_handle).where(Passkey.user_id == user.id).limit(1))
    return existing or bytes_to_base64url(secrets.token_bytes(32))


def registration_options(user: User) -> tuple[dict, dict]:
    """The options for ``navigator.credentials.create()`` and what the browser's session
    keeps until the answer comes (the challenge and the account's handle)."""
    rp = relying_party()
    handle = _user_handle(user)
    challenge = _issue_challenge(REGISTER, user)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user.email,
        user_id=base64url_to_bytes(handle),
        user_display_name=user.name,
        challenge=base64url_to_bytes(challenge),
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[_descriptor(p) for p in user_passkeys(user)],
        supported_pub_key_algs=ALGORITHMS,
    )
    return json.loads(options_to_json(options)), {"challenge": challenge, "handle": handle}


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = []
    for name in passkey.transports or []:
        try:
            transports.append(AuthenticatorTransport(name))
        except ValueError:
            continue  # a transport this library does not know: the browser will do without
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id),
                                         transports=transports or None)


def validate_name(name: str | None) -> str:
    name = names.tidy(name)
    if len(name) > NAME_MAX:
        raise PortalError(_("A passkey's name can be at most %(num)d characters.", num=NAME_MAX), "name")
    return name


def register(user: User, credential, name: str | None, pending: dict | None) -> Passkey:
    """Check the browser's answer to ``registration_options`` and keep the new passkey.

    ``pending`` is what the browser's session kept. Raises PasskeyError (audited as
    ``auth.passkey_refused``) for an answer that fails a check, and PortalError for a
    name that is too long."""
    name = validate_name(name)
    pending = pending or {}
    rp = relying_party()
    try:
        expected = _take_challenge(pending.get("challenge"), REGISTER, user)
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=expected, expected_rp_id=rp.id,
                expected_origin=rp.origin, require_user_verification=True,
                supported_pub_key_algs=ALGORITHMS,
            )
        except Exception as exc:  # noqa: BLE001 - whatever the browser sent, it is refused, not a 500
            raise PasskeyError(_reason(exc)) from exc
        credential_id = bytes_to_base64url(verified.credential_id)
        if db.session.scalar(sa.select(Passkey.id).where(Passkey.credential_id == credential_id)):
            raise PasskeyError("duplicate")
    except PasskeyError as exc:
        record(user, actions.PASSKEY_REFUSED, user, outcome=Outcome.FAILURE,
               reason=f"passkey_{exc.reason}")
        raise
    count = len(user_passkeys(user))
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        user_handle=pending.get("handle") or _user_handle(user),
        sign_count=verified.sign_count,
        transports=_transports(credential),
        backed_up=verified.credential_backed_up,
        aaguid=verified.aaguid,
        name=name or _("Passkey %(num)d", num=count + 1),
        created_at=utcnow(),
    )
    db.session.add(passkey)
    db.session.flush()
    record(user, actions.PASSKEY_ADDED, passkey, name=passkey.name, backed_up=passkey.backed_up,
           user_id=user.id)
    notify(user, Category.SECURITY, "passkey_added")
    return passkey


def _transports(credential) -> list[str]:
    response = credential.get("response") if isinstance(credential, dict) else None
    found = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(found, list):
        return []
    return [t for t in found if isinstance(t, str) and len(t) <= 32][:8]


# -- logging in with a passkey ------------------------------------------------------------


def login_options() -> tuple[dict, dict]:
    """Options for ``navigator.credentials.get()`` without naming an account: the person
    picks a passkey (a discoverable credential), which names it; user verification
    required (the device's PIN, fingerprint or face), as there is no password."""
    rp = relying_party()
    challenge = _issue_challenge(LOGIN, None)
    options = generate_authentication_options(
        rp_id=rp.id, challenge=base64url_to_bytes(challenge), timeout=TIMEOUT_MS,
        allow_credentials=[], user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json.loads(options_to_json(options)), {"challenge": challenge}


def _check_assertion(credential, expected: bytes, *, owner: User | None,
                     require_user_verification: bool) -> Passkey:
    """The stored passkey that signed this answer, its counter and last use brought up to
    date. Raises PasskeyError with the reason; the caller audits it."""
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    passkey = None
    if isinstance(credential_id, str) and len(credential_id) <= 1400:
        passkey = db.session.scalar(sa.select(Passkey).where(Passkey.credential_id == credential_id))
    if passkey is None or (owner is not None and passkey.user_id != owner.id):
        raise PasskeyError("unknown")
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle and handle != passkey.user_handle:
        # Signed over by the authenticator for another account: not this passkey's answer.
        raise _with(PasskeyError("user_handle"), passkey)
    rp = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=expected, expected_rp_id=rp.id,
            expected_origin=rp.origin, credential_public_key=passkey.public_key,
            # The counter is judged below, so a regression has its own reason.
            credential_current_sign_count=0, require_user_verification=require_user_verification,
        )
    except Exception as exc:  # noqa: BLE001 - whatever the browser sent, it is refused, not a 500
        raise _with(PasskeyError(_reason(exc)), passkey) from exc
    new_count = verified.new_sign_count
    # One conditional UPDATE: a counter must move forward, unless it has always been 0
    # (synced passkeys); two answers racing with the same counter cannot both pass.
    moved = db.session.execute(
        sa.update(Passkey)
        .where(Passkey.id == passkey.id,
               sa.or_(Passkey.sign_count < new_count, sa.and_(Passkey.sign_count == 0, new_count == 0)))
        .values(sign_count=new_count, last_used_at=utcnow(), backed_up=verified.credential_backed_up),
        execution_options={"synchronize_session": False},
    )
    if moved.rowcount != 1:
        raise _with(PasskeyError("counter"), passkey, stored=passkey.sign_count, received=new_count)
    db.session.refresh(passkey)
    return passkey


def _with(error: PasskeyError, passkey: Passkey, **details) -> PasskeyError:
    """The error, with the passkey and the user it names for the audit event."""
    error.passkey = passkey
    error.details = details
    return error


def login(credential, pending: dict | None, *, remember: bool, ip: str | None,
          user_agent: str | None) -> User:
    """Log in with a passkey and no password: the login ends as a password login does
    (``services.open_session``), its event saying ``method="passkey"``.

    Raises PasskeyError, audited as a failed login with the reason (``passkey_counter``,
    ``passkey_origin`` ...)."""
    pending = pending or {}
    try:
        expected = _take_challenge(pending.get("challenge"), LOGIN, None)
        passkey = _check_assertion(credential, expected, owner=None, require_user_verification=True)
        user = db.session.get(User, passkey.user_id)
        if user.status != UserStatus.ACTIVE or user.awaiting_confirmation:
            raise _with(PasskeyError("account"), passkey, status=user.status)
    except PasskeyError as exc:
        _record_refusal(exc)
        raise
    services.open_session(user, remember=remember, ip=ip, user_agent=user_agent,
                          method="passkey", passkey_id=passkey.id)
    return user


# -- a passkey as the second step of a login, or for a step-up ---------------------------


def has_passkey(user) -> bool:
    return user is not None and db.session.scalar(
        sa.select(Passkey.id).where(Passkey.user_id == user.id).limit(1)) is not None


def second_factor_options(user: User) -> tuple[dict, dict]:
    """Options for ``navigator.credentials.get()`` naming the user's own passkeys, for the
    second step after the password (or a step-up): the password was the first factor, so
    user verification is preferred, not required."""
    rp = relying_party()
    challenge = _issue_challenge(SECOND_FACTOR, user)
    options = generate_authentication_options(
        rp_id=rp.id, challenge=base64url_to_bytes(challenge), timeout=TIMEOUT_MS,
        allow_credentials=[_descriptor(p) for p in user_passkeys(user)],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options)), {"challenge": challenge}


def check_second_factor(user: User, credential, pending: dict | None) -> Passkey:
    """The user's passkey that answered the second step (or a step-up). Raises
    PasskeyError, audited as a failed login (``step="second_factor"``); the caller
    (``services.second_step``) counts it toward the lockout as a wrong code."""
    pending = pending or {}
    try:
        expected = _take_challenge(pending.get("challenge"), SECOND_FACTOR, user)
        return _check_assertion(credential, expected, owner=user, require_user_verification=False)
    except PasskeyError as exc:
        _record_refusal(exc, owner=user, step="second_factor")
        raise


def _record_refusal(exc: PasskeyError, *, owner: User | None = None, **more) -> None:
    passkey = getattr(exc, "passkey", None)
    user = db.session.get(User, passkey.user_id) if passkey is not None else owner
    extra = dict(getattr(exc, "details", {}) or {}) | more
    if passkey is not None:
        extra["passkey_id"] = passkey.id
    record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason=f"passkey_{exc.reason}",
           method="passkey", **extra)


# -- naming and removing ----------------------------------------------------------------


def owned(user: User, passkey_id: int) -> Passkey:
    """The user's passkey, or NotYours (answered as a 404)."""
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise NotYours(_("This passkey is not yours."))
    return passkey


def rename(user: User, passkey_id: int, name: str, *, actor: User) -> bool:
    """Give a passkey a new name; False when it already had it."""
    passkey = owned(user, passkey_id)
    name = validate_name(name)
    if not name:
        raise PortalError(_("Give the passkey a name."), "name")
    if name == passkey.name:
        return False
    before = passkey.name
    passkey.name = name
    record(actor, actions.PASSKEY_RENAMED, passkey, before=before, after=name, user_id=user.id)
    return True


def remove(user: User, passkey_id: int, *, actor: User) -> str:
    """Remove a passkey; returns its name (for the message and the mail)."""
    passkey = owned(user, passkey_id)
    name = passkey.name
    record(actor, actions.PASSKEY_REMOVED, passkey, name=name, user_id=user.id)
    notify(user, Category.SECURITY, "passkey_removed")
    db.session.delete(passkey)
    return name


# -- mail --------------------------------------------------------------------------------


def send_notice(user: User, name: str, *, added: bool) -> bool:
    """Tell the owner a passkey was added or removed (after the commit)."""
    subject, text = compose(
        "passkey_changed", SUBJECT_ADDED if added else SUBJECT_REMOVED, user,
        user=user, name=name, added=added, when=utcnow(),
        passkeys_url=absolute_url("account.passkeys"), forgot_url=absolute_url("auth.forgot_password"),
    )
    return mail.send(user.email, subject, text)
