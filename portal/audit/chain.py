"""The audit hash chain: canonical content, hashing, appending and verification.

Each event stores ``hash = SHA-256(prev_hash || canonical JSON of its content)``,
where the content includes its sequence number. Verification walks the events
in sequence order in constant memory and names the first one that does not fit.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from portal.models.audit import AuditEvent

GENESIS = "0" * 64
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x504F5254414C  # "PORTAL"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(event: AuditEvent) -> bytes:
    content = {
        "seq": event.seq,
        "at": _iso(event.at),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "details": event.details or {},
        "ip": event.ip,
        "user_agent": event.user_agent,
        "method": event.method,
        "path": event.path,
        "status": event.status,
        "outcome": event.outcome,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(event.prev_hash.encode() + canonical(event)).hexdigest()


def lock_chain(session) -> None:
    """Serialise appends until the end of the transaction.

    PostgreSQL: a transaction-level advisory lock. SQLite: write transactions begin
    with BEGIN IMMEDIATE (see ``portal.db``), so the writer already holds the lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))


def head(session) -> tuple[int, str]:
    row = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def seal(session, event: AuditEvent) -> None:
    """Give the event its place in the chain (sequence, predecessor, own hash)."""
    lock_chain(session)
    with session.no_autoflush:
        pending = [
            obj for obj in session.new if isinstance(obj, AuditEvent) and obj is not event
        ]
    if pending:
        last = max(pending, key=lambda e: e.seq)
        seq, prev = last.seq, last.hash
    else:
        seq, prev = head(session)
    event.seq = seq + 1
    event.prev_hash = prev
    event.hash = compute_hash(event)


@dataclass
class VerifyResult:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.count} events, head #{self.head_seq} {self.head_hash}"
        return (
            f"audit chain broken at event #{self.first_bad_seq} (id {self.first_bad_id}): "
            f"{self.problem}"
        )


def verify(session, checkpoint: dict | None = None, batch: int = 5000, progress=None) -> VerifyResult:
    """Walk the whole chain. ``checkpoint`` ({"seq", "hash"}) also proves no tail was cut."""
    table = AuditEvent.__table__
    stmt = sa.select(table).order_by(table.c.seq).execution_options(yield_per=batch)
    probe = AuditEvent()
    rows = session.execute(stmt)
    try:
        return _walk(rows, probe, checkpoint, batch, progress)
    finally:
        rows.close()


def _walk(rows, probe, checkpoint, batch, progress) -> VerifyResult:
    expected_seq, prev = 1, GENESIS
    count = 0
    for row in rows:
        for key in row._fields:
            setattr(probe, key, getattr(row, key))
        if row.seq != expected_seq:
            problem = (
                f"expected sequence {expected_seq} but found {row.seq}: "
                + ("events are missing (deleted)" if row.seq > expected_seq else "duplicate or reordered")
            )
            return VerifyResult(False, count, expected_seq - 1, prev, row.seq, row.id, problem)
        if row.prev_hash != prev:
            return VerifyResult(
                False, count, expected_seq - 1, prev, row.seq, row.id,
                "does not link to the previous event (inserted, deleted or reordered)",
            )
        if compute_hash(probe) != row.hash:
            return VerifyResult(
                False, count, expected_seq - 1, prev, row.seq, row.id,
                "content does not match its hash (changed)",
            )
        if checkpoint and row.seq == checkpoint["seq"] and row.hash != checkpoint["hash"]:
            return VerifyResult(
                False, count, expected_seq - 1, prev, row.seq, row.id,
                "differs from the signed checkpoint",
            )
        prev = row.hash
        expected_seq += 1
        count += 1
        if progress and count % batch == 0:
            progress(count)
    head_seq = expected_seq - 1
    if checkpoint and head_seq < checkpoint["seq"]:
        return VerifyResult(
            False, count, head_seq, prev, head_seq + 1, None,
            f"the chain ends at #{head_seq} but the checkpoint saw #{checkpoint['seq']}: "
            "events were cut off the end",
        )
    return VerifyResult(True, count, head_seq, prev)
