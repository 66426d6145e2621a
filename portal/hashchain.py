"""What the two hash chains share: the genesis value, the link hash and the check's result.

The audit trail (``portal.audit.chain``) and each license's history
(``portal.licenses.chain``) are chains of rows, each naming its predecessor's hash.
What each hashes stays theirs (stored hashes must keep verifying); how a link is
hashed, what the first link points at and how a check reports are the same here.
``canonical_json`` is also what signatures cover (license state, audit checkpoints).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

GENESIS = "0" * 64

# The same output as json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False),
# without building an encoder for every row.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link_hash(content: dict, prefix: str = "") -> str:
    """SHA-256 (hex) of ``prefix`` followed by the canonical JSON of ``content``.

    ``content`` names the predecessor's hash. The audit chain also puts that hash in
    front as ``prefix``; license history does not. Both are kept: existing rows must verify.
    """
    return hashlib.sha256(prefix.encode() + canonical_json(content)).hexdigest()


def canonical_json(content: dict) -> bytes:
    """Sorted keys, no spaces, UTF-8: the bytes a link hash or a signature covers."""
    return _ENCODER.encode(content).encode()


@dataclass
class ChainResult:
    """The outcome of walking a chain from its genesis.

    ``count`` rows linked up correctly, ending at ``head_hash``; when ``ok`` is false,
    ``first_bad_seq``/``first_bad_id`` name the row where it broke (None when the break
    is after the last row, e.g. a head that does not match) and ``problem`` says how.
    ``subject`` and ``unit`` word the summary ("audit chain", "event").
    """

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str | None = None
    subject: str = "chain"
    unit: str = "row"

    def __bool__(self) -> bool:
        return self.ok

    @property
    def head_seq(self) -> int:
        # Sequences start at 1 and have no gaps up to the head, so the head's is the count.
        return self.count

    def summary(self) -> str:
        if self.ok:
            return f"{self.subject} intact: {self.count} {self.unit}s, head #{self.head_seq} {self.head_hash}"
        if self.first_bad_seq is None:
            return f"{self.subject} broken at the head: {self.problem}"
        where = f"{self.unit} #{self.first_bad_seq}"
        if self.first_bad_id is not None:
            where += f" (id {self.first_bad_id})"
        return f"{self.subject} broken at {where}: {self.problem}"
