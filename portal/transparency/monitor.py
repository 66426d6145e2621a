"""``transparency monitor``: what an outside witness runs (from cron) to see that the log
only ever grows.

Each run reads the current checkpoint (over HTTP, from a file, or from this database),
checks its signature with the key seen on the first run (or given), and checks that it
extends the checkpoint stored in the state file: same origin, not smaller (a rollback),
not a different root at the same size (a fork), and a valid RFC 9162 consistency proof
from the old size to the new (otherwise the log was rewritten). Only then is the new
checkpoint stored. Any failure raises ``MonitorError`` with the reason.
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from portal.transparency import checkpoints, log, merkle


class MonitorError(Exception):
    pass


@dataclass
class Source:
    """Where the checkpoint, the key and the proofs come from."""

    url: str | None = None
    checkpoint_file: str | None = None

    def _get(self, path: str) -> bytes:
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as reply:  # noqa: S310 - the operator's URL
                return reply.read()
        except (urllib.error.URLError, OSError) as exc:
            raise MonitorError(f"cannot fetch {self.url.rstrip('/')}{path}: {exc}") from None

    def note(self) -> str:
        if self.url:
            return self._get("/transparency/checkpoint").decode()
        if self.checkpoint_file:
            try:
                return Path(self.checkpoint_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise MonitorError(f"cannot read {self.checkpoint_file}: {exc}") from None
        return checkpoints.current(log.size()).note  # this database: its head now

    def vkey(self) -> str:
        if self.url:
            try:
                keys = json.loads(self._get("/.well-known/portal-keys.json"))
                return keys["transparency_checkpoint_keys"][0]["vkey"]
            except (ValueError, KeyError, IndexError, TypeError):
                raise MonitorError("the portal's keys document names no checkpoint key") from None
        return checkpoints.published()["vkey"]

    def consistency(self, first: int, second: int) -> list[bytes]:
        if self.url:
            try:
                body = json.loads(self._get(f"/transparency/proof/consistency?from={first}&to={second}"))
                return [log.unb64(h) for h in body["hashes"]]
            except (ValueError, KeyError, TypeError):
                raise MonitorError("the consistency proof is not readable") from None
        return log.consistency_proof(first, second)


def _load_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        state["root_bytes"] = log.unb64(state["root"])
        return state
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MonitorError(f"the state file {path} is not readable: {exc}") from None


def _save_state(path: Path, note: checkpoints.Checkpoint, vkey: str) -> None:
    data = {"origin": note.origin, "size": note.size, "root": log.b64(note.root), "vkey": vkey,
            "checkpoint": note.note}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run(state_path: str, source: Source, key: str | None = None) -> str:
    """Check the current checkpoint against the stored one; returns a summary."""
    path = Path(state_path)
    state = _load_state(path)
    vkey = key or (state or {}).get("vkey") or source.vkey()
    try:
        name, public = checkpoints.parse_vkey(vkey)
        note = checkpoints.parse(source.note(), public, name)
    except checkpoints.NoteError as exc:
        raise MonitorError(f"the checkpoint is not valid: {exc}") from None
    if state is None:
        _save_state(path, note, vkey)
        return f"first checkpoint stored: {note.origin} size {note.size} (key {vkey})"
    old_size, old_root = state["size"], state["root_bytes"]
    if note.origin != state["origin"]:
        raise MonitorError(f"the log's origin changed from {state['origin']!r} to {note.origin!r}")
    if note.size < old_size:
        raise MonitorError(f"rollback: the log shrank from {old_size} to {note.size} leaves")
    if note.size == old_size:
        if note.root != old_root:
            raise MonitorError(f"fork: two checkpoints of size {old_size} have different roots")
        _save_state(path, note, vkey)
        return f"unchanged: size {note.size}"
    if old_size:
        proof = source.consistency(old_size, note.size)
        if not merkle.verify_consistency(old_size, note.size, old_root, note.root, proof):
            raise MonitorError(
                f"rewrite: the checkpoint of size {note.size} is not consistent with the one of "
                f"size {old_size} seen before (the log's history was changed)")
    _save_state(path, note, vkey)
    return f"consistent: size {old_size} → {note.size}"
