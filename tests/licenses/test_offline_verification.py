"""A certificate checked offline, exactly as the README shows: only the verification JSON
and the public keys document, both fetched over HTTP, and the `cryptography` package.

The signed message is built from the keys document's description of the license's
signature version: its prefix (``portal/license-state/v2`` and a newline now; nothing
for version 1, made before signing contexts) and its fields, taken from the JSON's
``signed`` object."""
from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNED_FIELDS = ("code", "holder", "specialization", "level", "status", "issued_at", "expires_at",
                 "chain_head")
LEGACY_FIELDS = ("code", "holder", "specialization", "specialization_name", "level", "status",
                 "issued_at", "expires_at", "chain_head")


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_offline(doc: dict, keys: dict) -> dict:
    """The README's recipe. Raises InvalidSignature when the document was altered;
    returns the fields the signature vouches for."""
    key = next(k for k in keys["keys"] if k["kid"] == doc["key_id"])
    form = keys["license_signatures"][str(doc["signature_version"])]
    fields = {name: doc["signed"][name] for name in form["fields"]}
    message = form["prefix"].encode() + json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    Ed25519PublicKey.from_public_bytes(b64url(key["public_key"])).verify(b64url(doc["signature"]), message)
    return fields


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
    assert doc["signature_version"] == 2 and doc["signed_message_prefix"] == "portal/license-state/v2\n"
    assert keys["license_signatures"]["2"] == {
        "prefix": "portal/license-state/v2\n", "fields": list(SIGNED_FIELDS), "made_now": True}
    assert keys["license_signatures"]["1"] == {"prefix": "", "fields": list(LEGACY_FIELDS), "made_now": False}
    checkpoint_form = keys["checkpoint_signatures"]["portal-audit-checkpoint/2"]
    assert checkpoint_form["prefix"] == "portal/audit-checkpoint/v2\n"
    vouched = check_offline(doc, keys)  # does not raise
    # What is vouched for is what the page shows (the specialization by its code).
    assert vouched == {name: doc[name] for name in SIGNED_FIELDS}
    assert doc["specialization_name"] == "Player" and "specialization_name" not in doc["signed"]


@pytest.mark.parametrize("name", SIGNED_FIELDS)
def test_changing_any_signed_field_breaks_the_signature(published, name):
    doc, keys = published
    forged = dict(doc, signed=dict(doc["signed"]))
    forged["signed"][name] = altered(forged["signed"][name])
    with pytest.raises(InvalidSignature):
        check_offline(forged, keys)


def test_claiming_the_old_form_does_not_help_a_forger(published):
    doc, keys = published
    downgraded = dict(doc, signature_version=1, signed={**doc["signed"], "specialization_name": "Player"})
    with pytest.raises(InvalidSignature):
        check_offline(downgraded, keys)


def test_a_license_signed_before_contexts_verifies_offline(client, legacy_license):
    license = legacy_license(holder_name="Zoë Ångström-Okafor", level=3)
    doc = client.get(f"/verify/{license.code}.json").get_json()
    keys = client.get("/.well-known/portal-keys.json").get_json()
    assert doc["valid"] is True and doc["signature_verified"] is True
    assert doc["signature_version"] == 1 and doc["signed_message_prefix"] == ""
    assert check_offline(doc, keys)["specialization_name"] == "Player"
    for name in LEGACY_FIELDS:
        forged = dict(doc, signed=dict(doc["signed"]))
        forged["signed"][name] = altered(forged["signed"][name])
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
