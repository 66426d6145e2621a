"""A license as an Open Badges 3.0 credential: its shape, its proof (checked by an
independent implementation), its JWT form, who may download it, the DID document."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from joserfc import jws
from joserfc.jwk import OKPKey

from portal import signing
from portal.models.user import Role
from tests.credentials import independent
from tests.support.http import login

SCHEMA = json.loads((Path(__file__).parent / "ob3_credential.schema.json").read_text())


def credential_of(client, license) -> dict:
    response = client.get(f"/verify/{license.code}/credential.json")
    assert response.status_code == 200
    return json.loads(response.data)


def test_the_credential_has_the_open_badges_shape(client, signed_license):
    license = signed_license(validity_months=12, level=2)
    credential = credential_of(client, license)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(credential)
    assert credential["issuer"]["id"] == "did:web:portal.test"
    subject = credential["credentialSubject"]
    assert subject["licenseNumber"] == license.code
    assert subject["achievement"]["achievementType"] == "License"
    assert "level 2" in subject["achievement"]["name"]
    assert subject["achievement"]["criteria"]["narrative"]  # the level's requirements
    assert "validUntil" in credential
    # Nothing private: no e-mail address or internal id.
    assert "@example.test" not in json.dumps(credential)


def test_the_proof_verifies_independently_and_fails_when_altered(client, signed_license):
    credential = credential_of(client, signed_license())
    did = client.get("/.well-known/did.json").get_json(force=True)
    assert independent.verify(credential, did)
    changed = json.loads(json.dumps(credential))
    changed["credentialSubject"]["achievement"]["name"] = "Coach — level 8"
    assert not independent.verify(changed, did)


def test_the_jwt_verifies_with_joserfc(client, signed_license, holder_of):
    license = signed_license()
    login(client, holder_of(license))
    token = client.get(f"/licenses/{license.id}/credential.jwt")
    assert token.status_code == 200 and token.mimetype == "application/vc+jwt"
    did = client.get("/.well-known/did.json").get_json(force=True)
    header = json.loads(signing.unb64url(token.text.split(".")[0]))
    assert header["alg"] == "EdDSA" and header["typ"] == "vc+jwt"
    method = next(m for m in did["verificationMethod"] if m["id"] == header["kid"])
    raw = independent.b58decode(method["publicKeyMultibase"][1:])[2:]
    key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": signing.b64url(raw)})
    with pytest.warns(Warning, match="EdDSA"):  # joserfc prefers RFC 9864's "Ed25519" name
        payload = json.loads(jws.deserialize_compact(token.text, key, algorithms=["EdDSA"]).payload)
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["id"] == json.loads(client.get(f"/licenses/{license.id}/credential.json").data)["id"]


@pytest.mark.parametrize("who, expected", [("holder", 200), ("admin", 200), ("other", 404), ("nobody", 302)])
def test_who_may_download_a_license_credential(client, signed_license, holder_of, make_user, who, expected):
    license = signed_license()
    if who == "holder":
        login(client, holder_of(license))
    elif who == "admin":
        login(client, make_user(Role.ADMIN))
    elif who == "other":
        login(client, make_user(Role.STUDENT))
    for suffix in ("json", "jwt"):
        response = client.get(f"/licenses/{license.id}/credential.{suffix}")
        assert response.status_code == expected
        if expected == 200:
            assert "no-store" in response.headers["Cache-Control"]


def test_an_unknown_code_has_no_credential(client):
    assert client.get("/verify/PLY-0000-0000-0000-0/credential.json").status_code == 404


def test_the_did_document_lists_every_key_across_a_rotation(app, client, signed_license):
    credential = credential_of(client, signed_license())
    with app.app_context():
        signing.rotate()
    did = client.get("/.well-known/did.json")
    assert did.mimetype == "application/did+json"
    did = did.get_json(force=True)
    with app.app_context():
        kids = [k["kid"] for k in signing.public_keys()]
    assert len(kids) == 2
    assert [m["id"] for m in did["verificationMethod"]] == [f"did:web:portal.test#{kid}" for kid in kids]
    assert all(m["type"] == "Multikey" and m["publicKeyMultibase"].startswith("z6Mk")
               for m in did["verificationMethod"])
    assert did["assertionMethod"] == [m["id"] for m in did["verificationMethod"]]
    # Signed before the rotation, still verifiable after it.
    assert independent.verify(credential, did)
    verdict = client.post("/verify/credential", data={"credential": json.dumps(credential)})
    assert "Valid." in verdict.text


def test_a_download_is_audited(client, signed_license, holder_of, audit_events):
    license = signed_license()
    login(client, holder_of(license))
    client.get(f"/licenses/{license.id}/credential.json")
    client.get(f"/licenses/{license.id}/credential.jwt")
    events = audit_events("license.credential_downloaded")
    assert [e.details["form"] for e in events] == ["json", "jwt"]
    assert events[0].details["code"] == license.code
