"""The academy's signing keys, and the contexts that keep its kinds of message apart."""
from __future__ import annotations

import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal import signing

LICENSE, CHECKPOINT = signing.LICENSE_STATE, signing.AUDIT_CHECKPOINT


def test_first_use_creates_a_private_key_file(app, tmp_path):
    with app.app_context():
        kid, signature = signing.sign(LICENSE, b"hello")
        folder = tmp_path / "instance" / "keys"
        assert (folder / f"{kid}.pem").exists()
        assert oct((folder / f"{kid}.pem").stat().st_mode & 0o777) == "0o600"
        assert signing.verify(LICENSE, b"hello", signature, kid)
        assert not signing.verify(LICENSE, b"hellO", signature, kid)
        assert not signing.verify(LICENSE, b"hello", signature, "no-such-key")


def test_verification_needs_only_the_published_public_key(app):
    with app.app_context():
        kid, signature = signing.sign(LICENSE, b"payload")
        published = {k["kid"]: k for k in signing.public_keys()}
    raw = signing.unb64url(published[kid]["public_key"])
    # The signed message: the context's line, a newline, the payload.
    Ed25519PublicKey.from_public_bytes(raw).verify(
        signing.unb64url(signature), b"portal/license-state/v2\npayload"
    )


def test_rotation_keeps_old_signatures_valid(app):
    with app.app_context():
        old_kid, old_sig = signing.sign(LICENSE, b"before")
        new_kid = signing.rotate()
        assert new_kid != old_kid and signing.current_key_id() == new_kid
        assert signing.verify(LICENSE, b"before", old_sig, old_kid)
        kid, sig = signing.sign(LICENSE, b"after")
        assert kid == new_kid and signing.verify(LICENSE, b"after", sig, new_kid)
        keys = {k["kid"]: k for k in signing.public_keys()}
        assert keys[old_kid]["retired_at"] and not keys[old_kid]["current"]
        assert keys[new_kid]["current"] and keys[new_kid]["retired_at"] is None


def test_a_rotation_by_another_node_is_seen_even_within_one_clock_tick(app, tmp_path):
    """Nodes sharing the key folder each keep the ring in memory; one node's rotation must
    reach the others at their next use, even where the file's time did not move (a coarse
    clock on a network file system): the ring is re-read when the file is another one."""
    with app.app_context():
        old_kid = signing.current_key_id()
        path = tmp_path / "instance" / "keys" / "keyring.json"
        seen = path.stat()
        # Another node's rotation: a new file in place of the ring, this process not told.
        ring = json.loads(path.read_text())
        new_kid = signing._new_key(path.parent, ring)
        os.utime(path, ns=(seen.st_atime_ns, seen.st_mtime_ns))
        assert path.stat().st_mtime_ns == seen.st_mtime_ns
        assert new_kid != old_kid and signing.current_key_id() == new_kid
        kid, signature = signing.sign(LICENSE, b"after")
        assert kid == new_kid and signing.verify(LICENSE, b"after", signature, new_kid)


@pytest.mark.parametrize("made, other", [(LICENSE, CHECKPOINT), (CHECKPOINT, LICENSE)])
def test_a_signature_verifies_only_in_its_own_context(app, made, other):
    with app.app_context():
        kid, signature = signing.sign(made, b'{"same":"bytes"}')
        assert signing.verify(made, b'{"same":"bytes"}', signature, kid)
        assert not signing.verify(other, b'{"same":"bytes"}', signature, kid)
        assert not signing.verify_legacy(b'{"same":"bytes"}', signature, kid)


def test_contexts_are_distinct_lines(app):
    assert len(set(signing.CONTEXTS)) == len(signing.CONTEXTS)
    for context in signing.CONTEXTS:
        assert "\n" not in context and signing.prefix(context) == context + "\n"
        # No message of one kind starts like a message of another.
        assert not any(signing.prefix(o).startswith(signing.prefix(context))
                       for o in signing.CONTEXTS if o != context)
    with pytest.raises(ValueError):
        signing.message("portal/something-else/v1", b"x")
    with app.app_context(), pytest.raises(ValueError):
        signing.sign("", b"a context is required")
