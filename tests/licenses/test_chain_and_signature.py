"""The history chain catches tampering; the signature covers every signed field."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal import signing
from portal.extensions import db
from portal.licenses import chain, services, state
from portal.models import License, LicenseEvent, User
from portal.models.user import Role
from tests.support.lookups import get, history


@pytest.fixture
def busy_license(app, make_user, make_specialization, make_license):
    """A license with four history rows: issued, suspended, reinstated, renewed."""
    admin = make_user(Role.ADMIN)
    lic = make_license(make_user(name="Zoë Ångström"), make_specialization(), actor=admin)
    with app.app_context():
        a = get(User, admin)
        services.suspend(get(License, lic), a, "Check")
        services.reinstate(get(License, lic), a)
        services.renew(get(License, lic), a)
        db.session.commit()
    return lic


def _sql(app, statement, **params):
    with app.app_context():
        db.session.execute(sa.text(statement), params)
        db.session.commit()


def _verify(app, lic):
    with app.app_context():
        return chain.verify_history(get(License, lic))


def test_an_untouched_history_verifies(app, busy_license):
    result = _verify(app, busy_license)
    assert result.ok and result.count == 4 and "intact" in result.summary()
    with app.app_context():
        rows = history(busy_license.id)
        assert rows[0].prev_hash == chain.GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
        assert get(License, busy_license).head_hash == rows[-1].hash


@pytest.mark.parametrize(
    ("column", "value"),
    [("note", "'nothing happened'"), ("level", "7"), ("status", "'revoked'"), ("kind", "'issued'")],
)
def test_a_changed_row_is_named(app, busy_license, column, value):
    _sql(
        app,
        f"UPDATE license_events SET {column} = {value} WHERE license_id = :id AND seq = 2",
        id=busy_license.id,
    )
    result = _verify(app, busy_license)
    assert not result.ok and result.first_bad_seq == 2 and "changed" in result.problem
    assert "row #2" in result.summary()


def test_a_changed_row_with_a_recomputed_hash_breaks_the_next_link(app, busy_license):
    with app.app_context():
        row = history(busy_license.id)[1]
        row.note = "rewritten"
        row.hash = chain.compute_hash(row)
        db.session.commit()
    result = _verify(app, busy_license)
    assert not result.ok and result.first_bad_seq == 3 and "previous" in result.problem


def test_a_deleted_middle_row_is_named(app, busy_license):
    _sql(app, "DELETE FROM license_events WHERE license_id = :id AND seq = 2", id=busy_license.id)
    result = _verify(app, busy_license)
    assert not result.ok and result.first_bad_seq == 3 and "missing" in result.problem


def test_a_deleted_last_row_no_longer_matches_the_head(app, busy_license):
    _sql(app, "DELETE FROM license_events WHERE license_id = :id AND seq = 4", id=busy_license.id)
    result = _verify(app, busy_license)
    assert not result.ok and result.first_bad_seq is None and "integrity hash" in result.problem


def test_a_license_without_history_does_not_verify(app, busy_license):
    _sql(app, "DELETE FROM license_events WHERE license_id = :id", id=busy_license.id)
    assert not _verify(app, busy_license).ok


def test_signed_fields_are_public_and_canonical(app, busy_license):
    with app.app_context():
        license = get(License, busy_license)
        fields = state.signed_fields(license)
        assert license.signature_version == 2 and set(fields) == set(state.SIGNED_FIELD_NAMES)
        assert fields["holder"] == "Zoë Ångström"
        assert fields["issued_at"].endswith("Z") and len(fields["issued_at"]) == 20
        assert fields["chain_head"] == license.head_hash
        raw = state.payload(fields)
        assert "Zoë Ångström".encode() in raw  # UTF-8, not \u escapes
        assert b'","' in raw and b'", "' not in raw and b'": ' not in raw
        assert json.loads(raw) == fields
        assert list(json.loads(raw)) == sorted(fields)
        text = raw.decode()
        assert "@" not in text and str(license.holder.date_of_birth) not in text


def test_the_signature_verifies_offline_with_only_the_published_key(app, busy_license):
    with app.app_context():
        license = get(License, busy_license)
        fields, signature, kid = state.signed_fields(license), license.signature, license.key_id
        published = {k["kid"]: k["public_key"] for k in signing.public_keys()}
        assert state.check(license)
    key = Ed25519PublicKey.from_public_bytes(signing.unb64url(published[kid]))
    key.verify(signing.unb64url(signature), b"portal/license-state/v2\n" + state.payload(fields))
    with pytest.raises(InvalidSignature):  # the bare payload (the old form) is not what is signed
        key.verify(signing.unb64url(signature), state.payload(fields))
    for name in state.SIGNED_FIELD_NAMES:
        forged = dict(fields)
        forged[name] = "forged" if isinstance(fields[name], str) or fields[name] is None else 99
        with pytest.raises(InvalidSignature):
            key.verify(signing.unb64url(signature), b"portal/license-state/v2\n" + state.payload(forged))


@pytest.mark.parametrize(
    "change",
    ["code", "holder", "level", "status", "expires_at", "issued_at", "head", "spec_code", "key"],
)
def test_check_fails_after_any_signed_field_changes(app, busy_license, change):
    with app.app_context():
        license = get(License, busy_license)
        assert state.check(license)
        if change == "code":
            license.code = "PLY-0000-0000-0000-0"
        elif change == "holder":
            license.holder.name = "Mallory"
        elif change == "level":
            license.level += 1
        elif change == "status":
            license.status = "revoked"
        elif change == "expires_at":
            license.expires_at += timedelta(days=365)
        elif change == "issued_at":
            license.issued_at -= timedelta(days=1)
        elif change == "head":
            license.head_hash = "f" * 64
        elif change == "spec_code":
            license.specialization.code = "GRM"
        elif change == "key":
            license.key_id = "unknown-key"
        assert not state.check(license)
        db.session.rollback()


def test_the_specialization_name_is_shown_not_signed(app, busy_license):
    with app.app_context():
        license = get(License, busy_license)
        license.specialization.name = "Grand Master"
        assert state.check(license) and state.public_fields(license)["specialization_name"] == "Grand Master"
        assert "specialization_name" not in state.signed_fields(license)
        db.session.rollback()


def test_signatures_survive_key_rotation(app, busy_license):
    with app.app_context():
        old_kid = get(License, busy_license).key_id
        signing.rotate()
        assert state.check(get(License, busy_license))
        license = get(License, busy_license)
        services.suspend(license, None, "After rotation")
        db.session.commit()
        license = get(License, busy_license)
        assert license.key_id != old_kid and state.check(license)


def test_history_rows_store_the_state_after_each_change(app, busy_license):
    with app.app_context():
        rows = history(busy_license.id)
        assert [(r.kind, r.status) for r in rows] == [
            ("issued", "active"),
            ("suspended", "suspended"),
            ("reinstated", "active"),
            ("renewed", "active"),
        ]
        assert rows[3].expires_at > rows[0].expires_at
        assert db.session.scalar(sa.select(sa.func.count(LicenseEvent.id))) == 4
