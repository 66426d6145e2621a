"""The academy's signing keys."""
from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal import signing


def test_first_use_creates_a_private_key_file(app, tmp_path):
    with app.app_context():
        kid, signature = signing.sign(b"hello")
        folder = tmp_path / "instance" / "keys"
        assert (folder / f"{kid}.pem").exists()
        assert oct((folder / f"{kid}.pem").stat().st_mode & 0o777) == "0o600"
        assert signing.verify(b"hello", signature, kid)
        assert not signing.verify(b"hellO", signature, kid)
        assert not signing.verify(b"hello", signature, "no-such-key")


def test_verification_needs_only_the_published_public_key(app):
    with app.app_context():
        kid, signature = signing.sign(b"payload")
        published = {k["kid"]: k for k in signing.public_keys()}
    raw = signing.unb64url(published[kid]["public_key"])
    Ed25519PublicKey.from_public_bytes(raw).verify(signing.unb64url(signature), b"payload")


def test_rotation_keeps_old_signatures_valid(app):
    with app.app_context():
        old_kid, old_sig = signing.sign(b"before")
        new_kid = signing.rotate()
        assert new_kid != old_kid and signing.current_key_id() == new_kid
        assert signing.verify(b"before", old_sig, old_kid)
        kid, sig = signing.sign(b"after")
        assert kid == new_kid and signing.verify(b"after", sig, new_kid)
        keys = {k["kid"]: k for k in signing.public_keys()}
        assert keys[old_kid]["retired_at"] and not keys[old_kid]["current"]
        assert keys[new_kid]["current"] and keys[new_kid]["retired_at"] is None
