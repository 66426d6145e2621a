"""Bitstring Status Lists: size, random places, bits that flip with the license in the same
transaction, caching headers, and a superseded credential after a renewal."""
from __future__ import annotations

import json

import sqlalchemy as sa

from portal.credentials import status
from portal.extensions import db
from portal.licenses import services
from portal.models import Credential, License
from tests.credentials import independent


def listing(client, purpose: str):
    response = client.get(f"/credentials/status/{purpose}")
    assert response.status_code == 200
    return response, json.loads(response.data)


def bit_of(client, purpose: str, index: int) -> bool:
    _, doc = listing(client, purpose)
    return status.bit(status.decode(doc["credentialSubject"]["encodedList"]), index)


def index_of(client, license) -> int:
    credential = json.loads(client.get(f"/verify/{license.code}/credential.json").data)
    return int(credential["credentialStatus"][0]["statusListIndex"])


def test_the_lists_are_signed_big_enough_and_the_places_random(client, signed_license, make_user):
    licenses = [signed_license() for _ in range(12)]
    indexes = [index_of(client, lic) for lic in licenses]
    assert len(set(indexes)) == len(indexes)
    assert indexes != sorted(indexes) or max(indexes) - min(indexes) > 1000  # not handed out in order
    did = client.get("/.well-known/did.json").get_json(force=True)
    for purpose in status.PURPOSES:
        _, doc = listing(client, purpose)
        assert doc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        subject = doc["credentialSubject"]
        assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == purpose
        assert subject["encodedList"].startswith("u")
        assert len(status.decode(subject["encodedList"])) * 8 >= 131_072
        assert independent.verify(doc, did)


def test_bits_flip_on_suspend_reinstate_and_revoke(app, client, signed_license):
    license = signed_license()
    index = index_of(client, license)
    assert not bit_of(client, "suspension", index) and not bit_of(client, "revocation", index)
    with app.app_context():
        lic = db.session.get(License, license.id)
        services.suspend(lic, None, "Under review")
        db.session.commit()
    assert bit_of(client, "suspension", index) and not bit_of(client, "revocation", index)
    with app.app_context():
        services.reinstate(db.session.get(License, license.id), None)
        db.session.commit()
    assert not bit_of(client, "suspension", index)
    with app.app_context():
        services.revoke(db.session.get(License, license.id), None, "fraud", "Forged papers")
        db.session.commit()
    assert bit_of(client, "revocation", index) and not bit_of(client, "suspension", index)


def test_the_bit_is_part_of_the_license_change_transaction(app, client, signed_license):
    license = signed_license()
    index = index_of(client, license)
    with app.app_context():
        services.revoke(db.session.get(License, license.id), None, "error", "Issued in error")
        # Inside the transaction the license and its bit have changed together ...
        assert status.bit(status.bits("revocation"), index)
        db.session.rollback()
        # ... and rolling back undoes both.
        assert db.session.get(License, license.id).status == "active"
        assert not status.bit(status.bits("revocation"), index)
    assert not bit_of(client, "revocation", index)


def test_lists_have_an_etag_and_cache_headers(app, client, signed_license):
    license = signed_license()
    response, _ = listing(client, "revocation")
    etag = response.headers["ETag"]
    assert "max-age=60" in response.headers["Cache-Control"]
    again = client.get("/credentials/status/revocation", headers={"If-None-Match": etag})
    assert again.status_code == 304
    index_of(client, license)
    with app.app_context():
        services.revoke(db.session.get(License, license.id), None, "fraud", "Forged papers")
        db.session.commit()
    changed = client.get("/credentials/status/revocation", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert client.get("/credentials/status/nothing").status_code == 404


def test_a_renewal_supersedes_the_old_credential(app, client, signed_license):
    license = signed_license(validity_months=12)
    old = json.loads(client.get(f"/verify/{license.code}/credential.json").data)
    with app.app_context():
        services.renew(db.session.get(License, license.id), None)
        db.session.commit()
        rows = db.session.scalars(sa.select(Credential).where(Credential.license_id == license.id)
                                  .order_by(Credential.id)).all()
        assert len(rows) == 2 and rows[0].superseded_at is not None and rows[1].superseded_at is None
    new = json.loads(client.get(f"/verify/{license.code}/credential.json").data)
    assert new["id"] != old["id"] and new["validUntil"] > old["validUntil"]
    assert bit_of(client, "revocation", int(old["credentialStatus"][0]["statusListIndex"]))
    answer = client.post("/verify/credential", data={"credential": json.dumps(old)})
    assert "replaced on" in answer.text
    assert "Valid." in client.post("/verify/credential", data={"credential": json.dumps(new)}).text


def test_a_level_change_supersedes_the_old_credential(app, client, signed_license):
    license = signed_license()
    old = json.loads(client.get(f"/verify/{license.code}/credential.json").data)
    with app.app_context():
        services.apply_change(db.session.get(License, license.id), "upgraded", None, level=2)
        db.session.commit()
    new = json.loads(client.get(f"/verify/{license.code}/credential.json").data)
    assert "level 2" in new["name"] and new["id"] != old["id"]
    assert bit_of(client, "revocation", int(old["credentialStatus"][0]["statusListIndex"]))
    assert not bit_of(client, "revocation", int(new["credentialStatus"][0]["statusListIndex"]))


def test_a_second_open_credential_is_superseded_at_the_next_change(app, client, signed_license):
    """As if two first downloads had raced: the older open credential is superseded (its
    revocation bit set) when the license next changes, never left valid."""
    license = signed_license()
    with app.app_context():
        lic = db.session.get(License, license.id)
        first = status.ensure(lic)
        extra = status._new(lic)
        db.session.commit()
        first_index, extra_index = first.status_index, extra.status_index
        services.suspend(db.session.get(License, license.id), None, "Under review")
        db.session.commit()
        open_rows = db.session.scalars(sa.select(Credential).where(
            Credential.license_id == license.id, Credential.superseded_at.is_(None))).all()
        assert [r.status_index for r in open_rows] == [extra_index]
    assert bit_of(client, "revocation", first_index)
    assert bit_of(client, "suspension", extra_index)
