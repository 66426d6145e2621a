"""The signed state of a license.

The fields below are what a certificate, the QR link and the verification JSON
vouch for. They are serialised canonically (sorted keys, no spaces, UTF-8) and
signed with the academy's Ed25519 key, so anyone holding the public key from
``/.well-known/portal-keys.json`` can check them offline.

Two versions of the signed message exist; ``License.signature_version`` says which
one a license's signature is:

- **2** (every signature made now): ``portal/license-state/v2`` and a newline, then the
  canonical JSON of ``FIELDS[2]``. The specialization is named by its code, which
  never changes once licenses carry it, so renaming it leaves the signature valid.
- **1** (signatures made before signing contexts): the bare canonical JSON of
  ``FIELDS[1]``, which holds the specialization's name *as it was when signed*
  (``License.signed_specialization_name``), not its current one.

A license is re-signed, as version 2, at its next change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from portal import signing
from portal.hashchain import canonical_json
from portal.models.license import License

CURRENT_VERSION = 2
FIELDS = {
    1: ("code", "holder", "specialization", "specialization_name", "level", "status",
        "issued_at", "expires_at", "chain_head"),
    2: ("code", "holder", "specialization", "level", "status", "issued_at", "expires_at",
        "chain_head"),
}
SIGNED_FIELD_NAMES = FIELDS[CURRENT_VERSION]


def iso_z(value: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second with a 'Z', e.g. ``2026-03-01T09:30:00Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def public_fields(license: License) -> dict:
    """The license's public state as shown (no e-mail, birth date or internal id): the
    current-version signed fields, and the specialization's current name."""
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


def signed_fields(license: License, version: int | None = None) -> dict:
    """Exactly the fields the signature of ``version`` (the license's own by default)
    covers, with the values they must have."""
    version = version or license.signature_version
    if version not in FIELDS:
        return {}
    fields = public_fields(license)
    if version == 1:
        fields["specialization_name"] = license.signed_specialization_name
    return {name: fields[name] for name in FIELDS[version]}


def payload(fields: dict) -> bytes:
    """Canonical bytes of the signed fields (before the context line, in version 2)."""
    return canonical_json(fields)


def signed_message(license: License, version: int | None = None) -> bytes:
    """The exact bytes a signature of ``version`` is made over."""
    version = version or license.signature_version
    data = payload(signed_fields(license, version))
    return data if version == 1 else signing.message(signing.LICENSE_STATE, data)


def message_prefix(version: int) -> str:
    """What comes before the canonical JSON in a signed message of ``version``."""
    return "" if version == 1 else signing.prefix(signing.LICENSE_STATE)


def sign_license(license: License) -> None:
    """Sign the current state (version 2) and store the signature, key id and version."""
    license.signature_version = CURRENT_VERSION
    license.signed_specialization_name = None
    license.key_id, license.signature = signing.sign(
        signing.LICENSE_STATE, payload(signed_fields(license, CURRENT_VERSION))
    )


def signature_matches(license: License, signature: str | None, kid: str | None) -> bool:
    """True when ``signature`` by key ``kid`` vouches for the license's current state, in
    the form of the license's signature version (the legacy form only for version 1)."""
    if not signature or not kid:
        return False
    version = license.signature_version
    if version == 1:
        return signing.verify_legacy(payload(signed_fields(license, 1)), signature, kid)
    if version == 2:
        return signing.verify(signing.LICENSE_STATE, payload(signed_fields(license, 2)), signature, kid)
    return False


def check(license: License) -> bool:
    """True when the stored signature matches the license's current state."""
    return signature_matches(license, license.signature, license.key_id)
