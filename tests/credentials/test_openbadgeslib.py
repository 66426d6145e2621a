"""Interoperability with openbadgeslib, a maintained Open Badges 3.0 library from PyPI: it
verifies Portal's credentials (Data Integrity and JWT), and Portal verifies one of its own
(signed with the academy's key) and refuses one signed elsewhere."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from openbadgeslib import OB3Verifier
from openbadgeslib.ob3.credential import Achievement, Issuer, OpenBadgeCredential
from openbadgeslib.ob3.ldp import OB3LdpSigner, OB3LdpVerifier

from portal import signing
from tests.credentials.test_credentials import credential_of
from tests.credentials.test_verify import check, no_network  # noqa: F401 (fixture)
from tests.support.http import login

DID = "did:web:portal.test"


def public_pem(app) -> bytes:
    with app.app_context():
        key = signing.public_key(signing.current_key_id())
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_key(app):
    with app.app_context():
        folder = Path(app.config["SIGNING_KEY_DIR"])
        kid = signing.current_key_id()
    return serialization.load_pem_private_key((folder / f"{kid}.pem").read_bytes(), None), kid


def test_openbadgeslib_verifies_portal_credentials(app, client, signed_license, holder_of, no_network):  # noqa: F811
    license = signed_license(validity_months=12)
    credential = credential_of(client, license)
    verified = OB3LdpVerifier(public_pem(app), issuer_did=DID).verify(json.dumps(credential))
    assert verified.id == credential["id"]
    login(client, holder_of(license))
    token = client.get(f"/licenses/{license.id}/credential.jwt").text
    verified = OB3Verifier(public_pem(app), issuer_did=DID).verify(token)
    assert verified.id == credential["id"]
    assert no_network == []


def openbadgeslib_credential(issuer_did: str) -> OpenBadgeCredential:
    now = datetime.now(UTC).replace(microsecond=0)
    return OpenBadgeCredential(
        issuer=Issuer(id=issuer_did, name="Portal Academy"),
        recipient_id=None,
        achievement=Achievement(id="urn:uuid:4f3c1e0a-7d1b-4f7e-9b1a-2c3d4e5f6a7b", name="Player — level 1",
                                description="Player, level 1", criteria_narrative="- Attend 10 sessions"),
        id="urn:uuid:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        issuance_date=now - timedelta(minutes=1),
        expiration_date=now + timedelta(days=30),
    )


def test_portal_verifies_an_openbadgeslib_credential(app, client):
    key, kid = private_key(app)
    signed = OB3LdpSigner(key, verification_method=f"{DID}#{kid}").sign(openbadgeslib_credential(DID))
    answer = check(client, json.dumps(signed))
    assert answer.status_code == 200 and "Valid." in answer.text, answer.text

    elsewhere = Ed25519PrivateKey.generate()
    foreign = OB3LdpSigner(elsewhere).sign(openbadgeslib_credential("did:web:elsewhere.example"))
    assert "Not issued by this academy" in check(client, json.dumps(foreign)).text
