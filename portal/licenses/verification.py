"""Public verification of a license: what anyone may learn from its code.

``verify(text)`` looks the code up (a code with a wrong check character is
refused before the database is asked), recomputes the license's history chain,
checks the Ed25519 signature over its signed fields, and says which of these
states the license is in:

``valid``, ``expiring_soon`` (valid, expires within 30 days), ``expired``,
``suspended``, ``revoked``, ``unknown`` (no such code), or ``invalid`` (the
record failed its integrity check: the history chain or the signature).
``fields`` are shown (the specialization's current name among them); the JSON's
``signed`` object is what the signature covers (``portal.licenses.state``).

Nothing here reveals an e-mail address, a birth date or an internal id.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal import signing
from portal.achievements import awarding
from portal.achievements import rules as achievement_rules
from portal.db import begin_write, utcnow
from portal.extensions import db
from portal.licenses import chain, codes, state, visibility
from portal.memory import LRU, of_app
from portal.models.achievement import CertificateVerification
from portal.models.license import License, LicenseStatus
from portal.models.user import User

EXPIRING_SOON = timedelta(days=30)


class State:
    VALID = "valid"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    INVALID = "invalid"


PAYLOAD_DESCRIPTION = (
    "The signature (base64url, no padding) is an Ed25519 signature, by the key named key_id, "
    "over a message built from the verification JSON's 'signed' object, in the form its "
    "'signature_version' names (see 'license_signatures'): the form's prefix, then the UTF-8 "
    "bytes of a JSON object holding exactly the form's fields, taken from 'signed'. The object "
    "is serialised with its keys sorted, no whitespace (separators ',' and ':'), and non-ASCII "
    "characters written as UTF-8, as Python's json.dumps(fields, sort_keys=True, "
    "separators=(',', ':'), ensure_ascii=False) does. Version 2 (every signature made now) has "
    "the prefix 'portal/license-state/v2' and a newline, and names the specialization by its "
    "code; version 1 (signatures made before) has no prefix and holds the specialization's name "
    "when it was signed. Only what is inside 'signed' is vouched for."
)


def signature_forms() -> dict:
    """The forms of a license signature, for ``/.well-known/portal-keys.json``."""
    return {
        str(version): {
            "prefix": state.message_prefix(version),
            "fields": list(names),
            "made_now": version == state.CURRENT_VERSION,
        }
        for version, names in sorted(state.FIELDS.items(), reverse=True)
    }


@dataclass
class Verification:
    state: str
    code: str | None = None
    typo: bool = False
    license: License | None = None
    fields: dict = field(default_factory=dict)
    signature_ok: bool = False
    history: chain.ChainResult | None = None
    # The signature printed on a certificate / carried in the QR link, when one was given.
    # True when that signature vouches for the license's current state.
    presented: str | None = None
    presented_current: bool | None = None
    checked_at: datetime = field(default_factory=lambda: utcnow())

    @property
    def valid(self) -> bool:
        return self.state in (State.VALID, State.EXPIRING_SOON)

    @property
    def found(self) -> bool:
        return self.license is not None

    @property
    def days_left(self) -> int | None:
        if self.license is None or self.license.expires_at is None:
            return None
        return max(0, (self.license.expires_at - self.checked_at).days)

    @property
    def reason_label(self) -> str | None:
        if self.license is None:
            return None
        return visibility.status_for(self.license, visibility.PUBLIC).reason_label

    @property
    def since(self) -> datetime | None:
        """When the license stopped being valid (expiry, suspension or revocation)."""
        if self.license is None:
            return None
        if self.state == State.EXPIRED:
            return self.license.expires_at or self.license.status_changed_at
        if self.state in (State.SUSPENDED, State.REVOKED):
            return self.license.status_changed_at
        return None

    def as_json(self) -> dict:
        if not self.found:
            return {"valid": False, "status": State.UNKNOWN}
        lic = self.license
        public = visibility.status_for(lic, visibility.PUBLIC)
        body = {
            "valid": self.valid,
            **self.fields,
            "state": self.state,
            "signature": lic.signature,
            "key_id": lic.key_id,
            "algorithm": signing.ALGORITHM,
            "signature_version": lic.signature_version,
            "signed_message_prefix": state.message_prefix(lic.signature_version),
            "signed": state.signed_fields(lic),
            "signature_verified": self.signature_ok,
            "history_intact": bool(self.history and self.history.ok),
            "status_changed_at": state.iso_z(self.since)
            if self.state in (State.SUSPENDED, State.REVOKED)
            else None,
            "reason": public.reason if self.state == State.REVOKED else None,
            "reason_label": public.reason_label if self.state == State.REVOKED else None,
            "keys_url": "/.well-known/portal-keys.json",
        }
        if self.presented is not None:
            body["presented_signature_current"] = bool(self.presented_current)
        return body


def _load(code: str) -> License | None:
    return db.session.scalar(
        sa.select(License)
        .options(joinedload(License.holder), joinedload(License.specialization))
        .where(License.code == code)
    )


def verify(text: str, presented_signature: str | None = None, presented_kid: str | None = None
           ) -> Verification:
    """Everything the public may learn about the license whose code is ``text``."""
    code = codes.normalise(text)
    if code is None:
        return Verification(State.UNKNOWN, typo=bool(text and text.strip()))
    license = _load(code)
    if license is None:
        return Verification(State.UNKNOWN, code=code)
    result = Verification(State.UNKNOWN, code=code, license=license)
    result.fields = state.public_fields(license)
    result.signature_ok = state.check(license)
    result.history = chain.verify_history(license)
    if presented_signature:
        result.presented = presented_signature[:200]
        result.presented_current = presented_signature == license.signature or state.signature_matches(
            license, presented_signature, presented_kid or license.key_id
        )
    result.state = _state(license, result, result.checked_at)
    return result


def _state(license: License, result: Verification, now: datetime) -> str:
    if not result.signature_ok or not result.history.ok:
        return State.INVALID
    if license.status == LicenseStatus.REVOKED:
        return State.REVOKED
    if license.status == LicenseStatus.SUSPENDED:
        return State.SUSPENDED
    if license.status == LicenseStatus.EXPIRED:
        return State.EXPIRED
    if license.expires_at is not None:
        if license.expires_at <= now:
            return State.EXPIRED
        if license.expires_at - now <= EXPIRING_SOON:
            return State.EXPIRING_SOON
    return State.VALID


# --- counting checks by others (the "certificate verified" achievements) ---------------


# One round trip: from an address the holder signs in from, or counted before?
_SEEN = sa.text(
    "SELECT EXISTS (SELECT 1 FROM user_sessions WHERE user_id = :holder AND ip = :ip), "
    "EXISTS (SELECT 1 FROM certificate_verifications WHERE license_id = :license AND checker = :checker)"
)


def _not_counted() -> LRU[None]:
    """(license id, checker) pairs whose checks no longer count, remembered by this process
    so that a repeated check (a page reloaded, a scraper) costs no query. What is here
    stays true: a checker counted once is never counted again, and an address the holder
    signed in from stays one. Bounded; the oldest go first."""
    return of_app("portal_verify_not_counted", lambda: LRU(65536))


def checker_key(ip: str, secret: str) -> str:
    """Who checked, as a keyed hash of the network address: counts distinct checkers
    without keeping the address."""
    return hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()


def count_check(license, viewer, ip: str | None, secret: str) -> bool:
    """Count a check of ``license`` (a License, or anything with its ``id`` and
    ``holder_id``) at /verify by someone other than its holder: once per
    license and network address, never the holder's own (signed in, or from an address
    the holder has signed in from). Awards what the count earns. Returns whether it counted;
    the caller commits."""
    if license is None or not ip:
        return False
    if getattr(viewer, "is_authenticated", False) and viewer.id == license.holder_id:
        return False
    key = checker_key(ip, secret)
    known = _not_counted()
    if (license.id, key) in known:  # this checker's checks of it never count again
        return False
    seen = db.session.execute(_SEEN, {"holder": license.holder_id, "ip": ip, "license": license.id,
                                      "checker": key}).one()
    if seen[0] or seen[1]:
        known.put((license.id, key), None)
        return False
    holder_id = license.holder_id
    if has_request_context():
        begin_write(db.session)  # a GET that writes: the next transaction is a writer
    try:
        with db.session.begin_nested():
            db.session.add(CertificateVerification(license_id=license.id, checker=key, at=utcnow()))
            db.session.flush()
    except IntegrityError:  # the same checker at the same moment
        return False
    awarding.on_event(db.session.get(User, holder_id), achievement_rules.VERIFIED)
    return True
