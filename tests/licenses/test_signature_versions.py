"""Signing contexts: one key, several kinds of signed message, never mistaken for each other;
and the licenses signed before contexts existed (version 1), which still verify."""
from __future__ import annotations

import json

import pytest

from portal import signing
from portal.audit import checkpoints
from portal.extensions import db
from portal.licenses import services, state
from portal.models.license import License
from tests.licenses.test_rename import assert_still_valid, rename
from tests.support.factories.licenses import bare_signature


def as_checkpoint_signature(license: License) -> tuple[str, str]:
    """What a checkpoint signer would give for the license's exact signed bytes."""
    return signing.sign(signing.AUDIT_CHECKPOINT, state.payload(state.signed_fields(license, 2)))


def test_new_license_signatures_use_the_license_context(app, signed_license):
    made = signed_license()
    with app.app_context():
        license = db.session.get(License, made.id)
        assert license.signature_version == 2 and license.signed_specialization_name is None
        message = state.signed_message(license)
        assert message.startswith(b"portal/license-state/v2\n{")
        assert signing._verify_bytes(message, license.signature, license.key_id)
        assert not signing.verify_legacy(state.payload(state.signed_fields(license)),
                                         license.signature, license.key_id)


@pytest.mark.parametrize("version", [2, 1])
def test_a_checkpoint_signature_never_passes_as_a_license_signature(app, client, signed_license, version):
    made = signed_license()
    with app.app_context():
        license = db.session.get(License, made.id)
        license.key_id, license.signature = as_checkpoint_signature(license)
        license.signature_version = version
        license.signed_specialization_name = license.specialization.name if version == 1 else None
        assert not state.check(license)
        db.session.commit()
    doc = client.get(f"/verify/{made.code}.json").get_json()
    assert doc["valid"] is False and doc["state"] == "invalid" and doc["signature_verified"] is False


def test_a_license_signature_never_passes_as_a_checkpoint(app, runner, tmp_path):
    path = tmp_path / "checkpoint.json"
    assert runner.invoke(args=["audit", "checkpoint", "--output", str(path)]).exit_code == 0
    genuine = json.loads(path.read_text())
    assert genuine["format"] == "portal-audit-checkpoint/2"
    with app.app_context():
        assert checkpoints.load(str(path))["seq"] == genuine["seq"]
        # The checkpoint's own bytes signed as a license state; then claimed as format 1.
        for data in (dict(genuine), dict(genuine, format="portal-audit-checkpoint/1")):
            data["key_id"], data["signature"] = signing.sign(signing.LICENSE_STATE, checkpoints.payload(data))
            path.write_text(json.dumps(data))
            with pytest.raises(checkpoints.CheckpointError, match="signature is not valid"):
                checkpoints.load(str(path))


def test_a_checkpoint_made_before_contexts_still_loads(app, runner, tmp_path):
    """A format-1 file: the bare canonical JSON, signed as Portal did before contexts."""
    path = tmp_path / "old.json"
    assert runner.invoke(args=["audit", "checkpoint", "--output", str(path)]).exit_code == 0
    data = json.loads(path.read_text())
    data["format"] = "portal-audit-checkpoint/1"
    with app.app_context():
        data["key_id"], data["signature"] = bare_signature(checkpoints.payload(data))
        path.write_text(json.dumps(data))
        assert checkpoints.load(str(path))["format"] == "portal-audit-checkpoint/1"
        # The same bytes signed in the new form, but claimed as format 1, are refused.
        data["key_id"], data["signature"] = signing.sign(signing.AUDIT_CHECKPOINT, checkpoints.payload(data))
        path.write_text(json.dumps(data))
        with pytest.raises(checkpoints.CheckpointError):
            checkpoints.load(str(path))
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(path)])
    assert result.exit_code != 0


def test_a_license_signed_before_contexts_still_verifies(app, client, runner, logged_admin, legacy_license):
    made = legacy_license(level=2)
    with app.app_context():
        license = db.session.get(License, made.id)
        assert license.signature_version == 1 and state.check(license)
        assert not state.signed_message(license).startswith(b"portal/")
    assert_still_valid(app, client, runner, made, "Player")
    doc = client.get(f"/verify/{made.code}.json").get_json()
    assert doc["signature_version"] == 1 and doc["signed"]["specialization_name"] == "Player"
    # The certificate printed before still shows the current state (its QR link's signature).
    page = client.get(f"/verify/{made.code}?kid={made.key_id}&sig={made.signature}").get_data(as_text=True)
    assert "The certificate you scanned shows this license" in page


def test_a_renamed_specialization_keeps_old_signatures_valid(app, client, runner, logged_admin,
                                                             legacy_license):
    """Version 1 signed the name: it is checked against the name as it was when signed."""
    made = legacy_license(level=2)
    rename(app, client, made.specialization_id, "Field Player")
    assert_still_valid(app, client, runner, made, "Field Player")
    doc = client.get(f"/verify/{made.code}.json").get_json()
    assert doc["signature_version"] == 1 and doc["signed"]["specialization_name"] == "Player"
    assert doc["specialization_name"] == "Field Player"
    page = client.get(f"/verify/{made.code}?kid={made.key_id}&sig={made.signature}").get_data(as_text=True)
    assert "out of date or was altered" not in page


def test_the_next_change_re_signs_in_the_new_form(app, legacy_license):
    made = legacy_license()
    with app.app_context():
        license = db.session.get(License, made.id)
        services.suspend(license, None, "Paperwork missing")
        db.session.commit()
        license = db.session.get(License, made.id)
        assert license.signature_version == 2 and license.signed_specialization_name is None
        assert state.check(license) and license.signature != made.signature
