"""Signed checkpoints: the log's size and root hash as a C2SP signed note.

    <origin>\\n<size>\\n<base64 root>\\n\\n— <origin> <base64(key hash ‖ signature)>\\n

The key is the log's own Ed25519 key (``transparency-checkpoint.pem`` beside the academy's
keys), never the key that signs licenses: a C2SP note is signed as it is, with no context
line, so sharing a key could let one kind of signature pass for another. The key's name is
the origin; its hash is the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key).

A new checkpoint is signed when the tree has grown and the newest is older than
``TRANSPARENCY_CHECKPOINT_SECONDS`` (so a busy log signs at most once per period), and
always when a proof for a newer leaf is about to be served. Every checkpoint is kept.
"""
from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy.exc import IntegrityError

from portal.db import begin_write, utcnow
from portal.extensions import db
from portal.models.transparency import TransparencyCheckpoint
from portal.transparency import log

KEY_FILE = "transparency-checkpoint.pem"
ALGORITHM_ED25519 = 0x01
DASH = "\u2014"  # the em dash that starts a signature line
_keys: dict[str, Ed25519PrivateKey] = {}


class NoteError(ValueError):
    """Not a checkpoint: malformed, or its signature does not verify."""


def origin() -> str:
    configured = current_app.config.get("TRANSPARENCY_ORIGIN")
    if configured:
        return configured
    host = urlsplit(current_app.config["PORTAL_BASE_URL"]).hostname or "localhost"
    return f"{host}/transparency"


def key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALGORITHM_ED25519]) + public).digest()[:4]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key() -> Ed25519PrivateKey:
    """The log's key, made once (atomically, so two processes agree on one key)."""
    folder = Path(current_app.config["SIGNING_KEY_DIR"])
    path = folder / KEY_FILE
    cached = _keys.get(str(path))
    if cached is not None:
        return cached
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        tmp = folder / f".{KEY_FILE}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        try:
            os.link(tmp, path)  # fails when another process made the key first: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    _keys[str(path)] = key
    return key


def public_key() -> bytes:
    return _raw(private_key().public_key())


def vkey(name: str, public: bytes) -> str:
    """The key as a C2SP verifier key: ``name+hexhash+base64(0x01 ‖ key)``."""
    return f"{name}+{key_hash(name, public).hex()}+{log.b64(bytes([ALGORITHM_ED25519]) + public)}"


def parse_vkey(text: str) -> tuple[str, bytes]:
    try:
        name, hexhash, data = text.strip().split("+", 2)
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise NoteError("the verifier key is not name+hash+base64") from None
    if len(raw) != 33 or raw[0] != ALGORITHM_ED25519 or key_hash(name, raw[1:]).hex() != hexhash:
        raise NoteError("the verifier key is not an Ed25519 key with a matching hash")
    return name, raw[1:]


def published() -> dict:
    """The log's key, for ``/.well-known/portal-keys.json``."""
    name, public = origin(), public_key()
    return {
        "use": "checkpoint",
        "name": name,
        "alg": "Ed25519",
        "key_hash": key_hash(name, public).hex(),
        "public_key": log.b64(public),
        "vkey": vkey(name, public),
        "format": "C2SP signed note (tlog-checkpoint); leaves and nodes hashed as RFC 9162",
    }


def body(name: str, size: int, root: bytes) -> str:
    return f"{name}\n{size}\n{log.b64(root)}\n"


def sign_note(name: str, size: int, root: bytes) -> str:
    text = body(name, size, root)
    key = private_key()
    signature = key.sign(text.encode())
    stamp = log.b64(key_hash(name, public_key()) + signature)
    return f"{text}\n{DASH} {name} {stamp}\n"


@dataclass
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: str


def parse(note: str, public: bytes, name: str | None = None) -> Checkpoint:
    """Read a signed note and check its signature by ``public`` (the key named after the
    origin, or ``name`` when given). Raises NoteError."""
    text, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("the checkpoint has no signature block")
    lines = text.split("\n")
    if len(lines) < 3:
        raise NoteError("the checkpoint needs an origin, a size and a root hash")
    note_origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError("the checkpoint's size is not a number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise NoteError("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    signer = name or note_origin
    wanted = key_hash(signer, public)
    verifier = Ed25519PublicKey.from_public_bytes(public)
    for line in signatures.split("\n"):
        if not line.startswith(f"{DASH} {signer} "):
            continue
        try:
            raw = base64.b64decode(line.rsplit(" ", 1)[1], validate=True)
        except ValueError:
            continue
        if len(raw) != 68 or raw[:4] != wanted:
            continue
        try:
            verifier.verify(raw[4:], (text + "\n").encode())
        except InvalidSignature:
            raise NoteError("the checkpoint's signature does not verify") from None
        return Checkpoint(note_origin, int(size_text), root, note)
    raise NoteError(f"the checkpoint carries no signature by the key {signer!r}")


def _stored(min_size: int = 0) -> TransparencyCheckpoint | None:
    return db.session.scalar(
        sa.select(TransparencyCheckpoint)
        .where(TransparencyCheckpoint.origin == origin(), TransparencyCheckpoint.size >= min_size)
        .order_by(TransparencyCheckpoint.size.desc()).limit(1)
    )


def _sign_current() -> TransparencyCheckpoint:
    name = origin()
    size = log.size()
    existing = db.session.scalar(sa.select(TransparencyCheckpoint).where(
        TransparencyCheckpoint.origin == name, TransparencyCheckpoint.size == size))
    if existing is not None:
        return existing
    root = log.root(size)
    row = TransparencyCheckpoint(origin=name, size=size, root=root, note=sign_note(name, size, root),
                                 created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # another process signed this size first: the same bytes
        return db.session.scalar(sa.select(TransparencyCheckpoint).where(
            TransparencyCheckpoint.origin == name, TransparencyCheckpoint.size == size))
    return row


def current(min_size: int = 0, *, sign: bool = True) -> TransparencyCheckpoint | None:
    """The checkpoint to serve: the newest one, re-signed when the log has grown past it
    and it is older than the period, or when it does not yet cover ``min_size`` leaves.
    May add a row (the caller commits); with ``sign=False`` answers None instead, so a
    read-only request can begin a write transaction first."""
    newest = _stored()
    stale = newest is None or newest.size < min_size
    if not stale:
        period = timedelta(seconds=current_app.config["TRANSPARENCY_CHECKPOINT_SECONDS"])
        stale = utcnow() - newest.created_at >= period and log.size() > newest.size
    if not stale:
        return newest
    return _sign_current() if sign else None


def for_leaf(index: int) -> TransparencyCheckpoint:
    """A checkpoint whose tree contains leaf ``index``: the newest, signed now if need be."""
    return current(min_size=index + 1)


def served(min_size: int = 0) -> TransparencyCheckpoint:
    """``current`` for a request: when a checkpoint must be signed, the read transaction
    ends and a write transaction signs and commits it (a GET that writes)."""
    checkpoint = current(min_size, sign=False)
    if checkpoint is None:
        begin_write(db.session)
        checkpoint = current(min_size)
        db.session.commit()
    return checkpoint


def entry_for(license_id: int) -> dict | None:
    """The license's newest history row in the log, with its inclusion proof against a
    signed checkpoint that contains it (for ``/verify/<code>.json`` and its page)."""
    leaf = log.newest_leaf_of(license_id)
    if leaf is None:
        return None
    checkpoint = served(leaf.idx + 1)
    return {
        "leaf_index": leaf.idx,
        "tree_size": checkpoint.size,
        "inclusion_proof": [log.b64(h) for h in log.inclusion_proof(leaf.idx, checkpoint.size)],
        "checkpoint": checkpoint.note,
        "leaf": log.b64(leaf.leaf),
        "holder_salt": log.b64(leaf.holder_salt) if leaf.holder_salt else None,
    }
