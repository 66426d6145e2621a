"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint says "at this time the chain had N events and its head hash was H",
signed with the academy's Ed25519 key. Someone who can rewrite the database can
cut events off the end and the shorter chain still verifies on its own; against
a checkpoint kept elsewhere it does not.
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

FORMAT = "portal-audit-checkpoint/1"
_SIGNED_KEYS = ("format", "seq", "hash", "time")


class CheckpointError(click.ClickException):
    """The file is not a valid checkpoint (unreadable, incomplete or badly signed)."""


def payload(data: dict) -> bytes:
    """The canonical bytes that are signed: the signed fields only, sorted, compact."""
    content = {key: data[key] for key in _SIGNED_KEYS}
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
    data["key_id"], data["signature"] = signing.sign(payload(data))
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
    for key in (*_SIGNED_KEYS, "key_id", "signature"):
        if key not in data:
            raise CheckpointError(f"{path} is not a checkpoint (no {key!r})")
    if data["format"] != FORMAT or not isinstance(data["seq"], int) or not isinstance(data["hash"], str):
        raise CheckpointError(f"{path} is not a checkpoint this version understands")
    if not signing.verify(payload(data), str(data["signature"]), str(data["key_id"])):
        raise CheckpointError(
            f"{path}: the checkpoint's signature is not valid (key {data['key_id']}); "
            "it was changed or not made by this academy"
        )
    return data
