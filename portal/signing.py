"""The academy's Ed25519 signing keys: sign, verify, publish, rotate.

Keys live in ``SIGNING_KEY_DIR`` (``instance/keys`` by default): one private key
file per key id, and ``keyring.json`` listing every key's public half, which one
is current, and when the others were retired. Retired keys are kept so that
everything they signed stays verifiable. The first key is made on first use.

One key signs several kinds of message (license states, audit checkpoints), so each
kind has its own context: the signed bytes are the context's first line, e.g.
``portal/license-state/v2``, a newline, then the payload. A signature made for one
kind can never be checked as another. Messages signed before contexts existed
(version 1, the bare payload) are only checked by ``verify_legacy``, which the
callers use for what they stored as version 1 and never for anything new.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

ALGORITHM = "Ed25519"
_cache: dict[str, tuple[tuple[int, int, int], dict, dict[str, Ed25519PrivateKey]]] = {}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _dir() -> Path:
    path = Path(current_app.config["SIGNING_KEY_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextmanager
def _locked(folder: Path):
    """Serialise key creation between processes (gunicorn workers, CLI)."""
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_key(folder: Path, ring: dict) -> str:
    key = Ed25519PrivateKey.generate()
    kid = f"{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for entry in ring["keys"]:
        if entry["kid"] == ring.get("current"):
            entry["retired_at"] = now
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ring["keys"].append({"kid": kid, "alg": ALGORITHM, "public_key": b64url(public),
                         "created_at": now, "retired_at": None})
    ring["current"] = kid
    tmp = folder / "keyring.json.tmp"
    tmp.write_text(json.dumps(ring, indent=2))
    os.replace(tmp, folder / "keyring.json")
    return kid


def _ring() -> tuple[dict, dict[str, Ed25519PrivateKey]]:
    folder = _dir()
    path = folder / "keyring.json"
    if not path.exists():
        with _locked(folder):
            if not path.exists():
                _new_key(folder, {"current": None, "keys": []})
    # The ring is re-read when the file changed: a rotation (here, by another node sharing the
    # folder, or by `keys rotate`) puts a new file in its place, so its inode and size tell
    # even where its time did not move (a coarse clock on a network file system).
    seen = path.stat()
    version = (seen.st_ino, seen.st_size, seen.st_mtime_ns)
    cached = _cache.get(str(folder))
    if cached and cached[0] == version:
        return cached[1], cached[2]
    ring = json.loads(path.read_text())
    private: dict[str, Ed25519PrivateKey] = {}
    pem_path = folder / f"{ring['current']}.pem"
    if pem_path.exists():
        private[ring["current"]] = serialization.load_pem_private_key(pem_path.read_bytes(), None)
    _cache[str(folder)] = (version, ring, private)
    return ring, private


def current_key_id() -> str:
    return _ring()[0]["current"]


# The kinds of signed message: the first line of every message signed from now on.
LICENSE_STATE = "portal/license-state/v2"
AUDIT_CHECKPOINT = "portal/audit-checkpoint/v2"
CONTEXTS = (LICENSE_STATE, AUDIT_CHECKPOINT)


def message(context: str, payload: bytes) -> bytes:
    """The bytes that are signed: the context, a newline, the payload."""
    if context not in CONTEXTS:
        raise ValueError(f"unknown signing context {context!r}")
    return context.encode() + b"\n" + payload


def prefix(context: str) -> str:
    """What goes before the payload, as published for offline verifiers."""
    return message(context, b"").decode()


def sign(context: str, payload: bytes) -> tuple[str, str]:
    """Sign ``payload`` as a message of kind ``context`` with the current key;
    returns (key id, base64url signature)."""
    ring, private = _ring()
    kid = ring["current"]
    return kid, b64url(private[kid].sign(message(context, payload)))


def sign_standard(data: bytes) -> tuple[str, bytes]:
    """Sign bytes in a standard format with its own framing (a Data Integrity proof's
    64-byte hash data, a JWS signing input) with the current key; returns (key id, raw
    signature). Such bytes never begin with a Portal context line, so a signature made here
    can never be taken for one made by :func:`sign`, nor the other way round."""
    if data.startswith(b"portal/"):
        raise ValueError("Portal's own messages are signed with sign()")
    ring, private = _ring()
    kid = ring["current"]
    return kid, private[kid].sign(data)


def _public_text(kid: str) -> str | None:
    for entry in _ring()[0]["keys"]:
        if entry["kid"] == kid:
            return entry["public_key"]
    return None


def public_key(kid: str) -> Ed25519PublicKey | None:
    text = _public_text(kid)
    return None if text is None else Ed25519PublicKey.from_public_bytes(unb64url(text))


def verify(context: str, payload: bytes, signature: str, kid: str) -> bool:
    """True when ``signature`` is key ``kid``'s signature of ``payload`` as a message of
    kind ``context``."""
    return _verify_bytes(message(context, payload), signature, kid)


def verify_legacy(payload: bytes, signature: str, kid: str) -> bool:
    """True when ``signature`` is key ``kid``'s signature of the bare ``payload``: the form
    used before signing contexts (version 1). Only for signatures stored as version 1."""
    return _verify_bytes(payload, signature, kid)


def _verify_bytes(data: bytes, signature: str, kid: str) -> bool:
    public = _public_text(kid)
    if public is None or not signature:
        return False
    return _signature_holds(public, signature, data)


@lru_cache(maxsize=1024)
def _signature_holds(public: str, signature: str, data: bytes) -> bool:
    """Ed25519 verification, remembered: its answer depends on these three values only (the
    public key itself, not its id), so a license checked on every download is verified once
    per process; any changed byte is a new question."""
    try:
        Ed25519PublicKey.from_public_bytes(unb64url(public)).verify(unb64url(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_keys() -> list[dict]:
    """Every key's public half, for ``/.well-known/portal-keys.json``."""
    ring = _ring()[0]
    return [{**entry, "current": entry["kid"] == ring["current"]} for entry in ring["keys"]]


def rotate() -> str:
    """Make a new current key; the old ones stay published as retired."""
    folder = _dir()
    _ring()
    with _locked(folder):
        ring = json.loads((folder / "keyring.json").read_text())
        kid = _new_key(folder, ring)
    _cache.pop(str(folder), None)
    return kid
