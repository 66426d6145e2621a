"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint says "at this time the chain had N events and its head hash was H",
signed with the academy's Ed25519 key. Someone who can rewrite the database can
cut events off the end and the shorter chain still verifies on its own; against
a checkpoint kept elsewhere it does not.

Format 2 (made now) is signed in the ``portal/audit-checkpoint/v2`` context
(``portal.signing``), so no other kind of signature by the same key passes for a
checkpoint. Format 1 files, made before contexts, were signed over the bare payload;
they are still read, and checked in that form only.
"""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app

from portal import signing
from portal.audit import actions, chain
from portal.audit.services import record
from portal.hashchain import canonical_json

FORMAT = "portal-audit-checkpoint/2"
LEGACY_FORMAT = "portal-audit-checkpoint/1"
SIGNED_FIELD_NAMES = ("format", "seq", "hash", "time")


class CheckpointError(click.ClickException):
    """The file is not a valid checkpoint (unreadable, incomplete or badly signed)."""


def payload(data: dict) -> bytes:
    """The canonical bytes that are signed: the signed fields only, sorted, compact."""
    content = {key: data[key] for key in SIGNED_FIELD_NAMES}
    return canonical_json(content)


def make(session, actor=None) -> dict:
    """Sign the current head of the chain and record ``audit.checkpoint``.

    The event is recorded after the head is read, so the checkpoint covers every
    event before its own; the caller commits.
    """
    chain.lock_chain(session)
    seq, head_hash = chain.head(session)
    data = {
        "format": FORMAT,
        "seq": seq,
        "hash": head_hash,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    data["key_id"], data["signature"] = signing.sign(signing.AUDIT_CHECKPOINT, payload(data))
    record(actor, actions.AUDIT_CHECKPOINT, None, seq=seq, hash=head_hash, key_id=data["key_id"])
    return data


def default_path(data: dict) -> Path:
    folder = Path(current_app.config["AUDIT_CHECKPOINT_DIR"])
    stamp = data["time"].replace(":", "").replace("-", "").replace("+0000", "Z")
    return folder / f"checkpoint-{stamp}-{data['seq']}.json"


def write(data: dict, path: str | os.PathLike | None = None) -> Path:
    target = Path(path) if path else default_path(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def load(path: str) -> dict:
    """Read a checkpoint file and check its signature; raise CheckpointError otherwise."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} cannot be read as a checkpoint: {exc}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is not a checkpoint")
    for key in (*SIGNED_FIELD_NAMES, "key_id", "signature"):
        if key not in data:
            raise CheckpointError(f"{path} is not a checkpoint (no {key!r})")
    if data["format"] not in (FORMAT, LEGACY_FORMAT) or not isinstance(data["seq"], int) \
            or not isinstance(data["hash"], str):
        raise CheckpointError(f"{path} is not a checkpoint this version understands")
    if not signature_ok(data):
        raise CheckpointError(
            f"{path}: the checkpoint's signature is not valid (key {data['key_id']}); "
            "it was changed or not made by this academy"
        )
    return data


def signature_forms() -> dict:
    """The forms of a checkpoint signature, for ``/.well-known/portal-keys.json``: the
    signed message is the prefix, then the canonical JSON of the fields."""
    return {
        FORMAT: {"prefix": signing.prefix(signing.AUDIT_CHECKPOINT), "fields": list(SIGNED_FIELD_NAMES),
                 "made_now": True},
        LEGACY_FORMAT: {"prefix": "", "fields": list(SIGNED_FIELD_NAMES), "made_now": False},
    }


def signature_ok(data: dict) -> bool:
    """The checkpoint's signature, checked in the form its format was signed in."""
    signature, kid = str(data["signature"]), str(data["key_id"])
    if data["format"] == LEGACY_FORMAT:
        return signing.verify_legacy(payload(data), signature, kid)
    return signing.verify(signing.AUDIT_CHECKPOINT, payload(data), signature, kid)
