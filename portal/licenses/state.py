"""The signed state of a license.

The fields below are what a certificate, the QR link and the verification JSON
vouch for. They are serialised canonically (sorted keys, no spaces, UTF-8) and
signed with the academy's Ed25519 key, so anyone holding the public key from
``/.well-known/portal-keys.json`` can check them offline.
"""

from __future__ import annotations

from datetime import UTC, datetime

from portal import signing
from portal.hashchain import canonical_json
from portal.models.license import License

SIGNED_FIELD_NAMES = (
    "code",
    "holder",
    "specialization",
    "specialization_name",
    "level",
    "status",
    "issued_at",
    "expires_at",
    "chain_head",
)


def iso_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second with a 'Z', e.g. ``2026-03-01T09:30:00Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed_fields(license: License) -> dict:
    """The public, signed state of ``license`` (no e-mail, birth date or internal id)."""
    spec = license.specialization
    return {
        "code": license.code,
        "holder": license.holder.name,
        "specialization": spec.code,
        "specialization_name": spec.name,
        "level": license.level,
        "status": license.status,
        "issued_at": iso_z(license.issued_at),
        "expires_at": iso_z(license.expires_at),
        "chain_head": license.head_hash,
    }


def payload(fields: dict) -> bytes:
    """Canonical bytes of the signed fields: what the signature covers."""
    return canonical_json(fields)


def sign_license(license: License) -> None:
    """Sign the current state and store the signature and key id on the license."""
    license.key_id, license.signature = signing.sign(payload(signed_fields(license)))


def check(license: License) -> bool:
    """True when the stored signature matches the license's current state."""
    if not license.signature or not license.key_id:
        return False
    return signing.verify(payload(signed_fields(license)), license.signature, license.key_id)
