"""The credential of a license, the academy's DID document, and the status list credentials.

Documents are built from the database and signed when asked for (a proof takes a few
milliseconds); the credential's identity, dates and status-list place are fixed in its
``Credential`` row, so it is the same credential every time it is downloaded.
"""
from __future__ import annotations

import base64
import hashlib
import json
import uuid

import sqlalchemy as sa
from flask import current_app

from portal import signing
from portal.credentials import documents, proofs, status
from portal.extensions import db
from portal.licenses.state import iso_z
from portal.models.catalogue import Level
from portal.models.credential import Credential
from portal.models.license import License

EPOCH = "2026-01-01T00:00:00Z"  # a status list's validFrom before any status changed


def base_url() -> str:
    return current_app.config["PORTAL_BASE_URL"]


def did() -> str:
    return proofs.did_web(base_url())


def verification_method(kid: str) -> str:
    return f"{did()}#{kid}"


def status_list_url(purpose: str) -> str:
    return f"{base_url()}/credentials/status/{purpose}"


def _sign(data: bytes) -> bytes:
    return signing.sign_standard(data)[1]


def _signed(document: dict) -> dict:
    kid = signing.current_key_id()
    created = document.get("validFrom") or EPOCH
    return proofs.add_proof(document, verification_method(kid), created, _sign)


def did_document() -> dict:
    """Every published key (current and retired) as a Multikey, so that credentials signed
    before a rotation keep verifying."""
    subject = did()
    methods = [
        {"id": f"{subject}#{key['kid']}", "type": "Multikey", "controller": subject,
         "publicKeyMultibase": proofs.multikey(signing.unb64url(key["public_key"]))}
        for key in signing.public_keys()
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": subject,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def _criteria(license: License) -> str:
    level = db.session.scalar(sa.select(Level).where(Level.specialization_id == license.specialization_id,
                                                     Level.number == license.level))
    if level is None or not level.requirements:
        return f"Awarded {license.specialization.name} level {license.level} by the academy."
    return "\n".join(f"- {req.title}" for req in level.requirements)


def unsigned_credential(credential: Credential) -> dict:
    license = credential.license
    spec = license.specialization
    base = base_url()
    name = f"{spec.name} — level {credential.level}"
    achievement_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/achievements/{spec.code}/{credential.level}")
    document = {
        "@context": [documents.CREDENTIALS_V2, documents.OPEN_BADGES_V3],
        "id": f"urn:uuid:{credential.uuid}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": {"id": did(), "type": ["Profile"], "name": current_app.config["PORTAL_ACADEMY_NAME"],
                   "url": base},
        "validFrom": iso_z(credential.valid_from),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityType": "name", "hashed": False,
                            "identityHash": license.holder.name}],
            "licenseNumber": license.code,
            "achievement": {
                "id": f"urn:uuid:{achievement_id}",
                "type": ["Achievement"],
                "achievementType": "License",
                "name": name,
                "description": spec.description or name,
                "criteria": {"narrative": _criteria(license)},
                "humanCode": f"{spec.code}-{credential.level}",
            },
        },
        "credentialStatus": [
            {"id": f"{status_list_url(purpose)}#{credential.status_index}",
             "type": "BitstringStatusListEntry", "statusPurpose": purpose,
             "statusListIndex": str(credential.status_index),
             "statusListCredential": status_list_url(purpose)}
            for purpose in status.PURPOSES
        ],
    }
    if credential.valid_until is not None:
        document["validUntil"] = iso_z(credential.valid_until)
    return document


def signed_credential(credential: Credential) -> dict:
    return _signed(unsigned_credential(credential))


def credential_for(license: License) -> dict:
    """The license's credential in force, signed (made first when the license has none: the
    caller commits)."""
    return signed_credential(status.ensure(license))


def jwt_for(license: License) -> str:
    """The same credential as a VC-JWT: the credential is the payload (with ``iss``, ``jti``,
    ``nbf`` and ``exp`` as Open Badges 3.0 asks), signed with EdDSA by the current key, named by
    its DID verification method in ``kid``."""
    credential = status.ensure(license)
    payload = unsigned_credential(credential)
    # The registered claims Open Badges 3.0 (§8.2.4.1) asks of a VC-JWT, from the credential.
    payload.update(iss=payload["issuer"]["id"], jti=payload["id"],
                   nbf=int(credential.valid_from.timestamp()))
    if credential.valid_until is not None:
        payload["exp"] = int(credential.valid_until.timestamp())
    kid = signing.current_key_id()
    header = {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": verification_method(kid)}

    def part(value: dict) -> str:
        return signing.b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())

    signing_input = f"{part(header)}.{part(payload)}"
    return f"{signing_input}.{signing.b64url(_sign(signing_input.encode()))}"


_list_cache: dict[tuple, tuple[dict, str]] = {}


def status_list(purpose: str) -> tuple[dict, str]:
    """The signed BitstringStatusListCredential of ``purpose`` and its ETag."""
    bitstring = status.bits(purpose)
    changed = status.last_change()
    valid_from = iso_z(changed) if changed is not None else EPOCH
    kid = signing.current_key_id()
    key = (purpose, hashlib.sha256(bitstring).hexdigest(), valid_from, kid, base_url())
    cached = _list_cache.get(key)
    if cached is not None:
        return cached
    url = status_list_url(purpose)
    document = _signed({
        "@context": [documents.CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did(),
        "validFrom": valid_from,
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList",
                              "statusPurpose": purpose, "encodedList": status.encode(bitstring)},
    })
    etag = base64.urlsafe_b64encode(hashlib.sha256("\x1f".join(key).encode()).digest()[:18]).decode()
    if len(_list_cache) > 16:
        _list_cache.clear()
    _list_cache[key] = (document, etag)
    return document, etag


def credential_row(credential_id: str) -> Credential | None:
    """The credential named ``urn:uuid:...``, for the verification page's details."""
    if not isinstance(credential_id, str) or not credential_id.startswith("urn:uuid:"):
        return None
    return db.session.scalar(sa.select(Credential).where(Credential.uuid == credential_id[9:45]))
