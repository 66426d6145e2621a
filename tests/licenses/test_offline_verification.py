"""A certificate checked offline, exactly as the README shows: only the verification JSON
and the public keys document, both fetched over HTTP, and the `cryptography` package."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNED_FIELDS = ("code", "holder", "specialization", "specialization_name", "level", "status",
                 "issued_at", "expires_at", "chain_head")


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_offline(doc: dict, keys: dict) -> None:
    """The README's recipe. Raises InvalidSignature when the document was altered."""
    key = next(k for k in keys["keys"] if k["kid"] == doc["key_id"])
    fields = {name: doc[name] for name in keys["signed_fields"]}
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    Ed25519PublicKey.from_public_bytes(b64url(key["public_key"])).verify(b64url(doc["signature"]), payload)


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def flipped(signature: str) -> str:
    """The signature with one bit of its first byte flipped: always a different signature
    (changing its last base64 characters can land on unused padding bits)."""
    raw = bytearray(b64url(signature))
    raw[0] ^= 0x01
    return b64url_encode(bytes(raw))


def altered(value):
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "2099-01-01T00:00:00Z"
    return value[:-1] + ("X" if value[-1] != "X" else "Y")


@pytest.fixture
def published(client, signed_license):
    license = signed_license(holder_name="Zoë Ångström-Okafor", level=4, status="suspended")
    doc = client.get(f"/verify/{license.code}.json").get_json()
    keys = client.get("/.well-known/portal-keys.json").get_json()
    return doc, keys


def test_a_certificate_verifies_offline_with_only_the_public_key(published):
    doc, keys = published
    assert tuple(keys["signed_fields"]) == SIGNED_FIELDS
    check_offline(doc, keys)  # does not raise


@pytest.mark.parametrize("name", SIGNED_FIELDS)
def test_changing_any_signed_field_breaks_the_signature(published, name):
    doc, keys = published
    forged = dict(doc)
    forged[name] = altered(forged[name])
    with pytest.raises(InvalidSignature):
        check_offline(forged, keys)


def test_a_forged_signature_or_another_key_fails(published, client, runner):
    doc, keys = published
    forged = dict(doc, signature=flipped(doc["signature"]))
    assert b64url(forged["signature"]) != b64url(doc["signature"])
    with pytest.raises(InvalidSignature):
        check_offline(forged, keys)
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    rotated = client.get("/.well-known/portal-keys.json").get_json()
    check_offline(doc, rotated)  # the retired key still verifies what it signed
    current = next(k["kid"] for k in rotated["keys"] if k["current"])
    with pytest.raises(InvalidSignature):
        check_offline(dict(doc, key_id=current), rotated)
