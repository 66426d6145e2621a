"""The hash chain of a license's history.

Each ``LicenseEvent`` stores the SHA-256 of its canonical content, which includes
the previous row's hash; the license's ``head_hash`` is the newest row's hash.
Changing, inserting or removing a row breaks the chain from that row on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.models.license import License, LicenseEvent

GENESIS = "0" * 64


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(event: LicenseEvent) -> bytes:
    content = {
        "license_id": event.license_id,
        "seq": event.seq,
        "kind": event.kind,
        "level": event.level,
        "status": event.status,
        "expires_at": _ts(event.expires_at),
        "actor_id": event.actor_id,
        "at": _ts(event.at),
        "note": event.note,
        "reason": event.reason,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(event: LicenseEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def _rows(license_id: int) -> list[LicenseEvent]:
    return list(
        db.session.scalars(
            sa.select(LicenseEvent).where(LicenseEvent.license_id == license_id).order_by(LicenseEvent.seq)
        )
    )


def append(
    license: License, kind: str, actor, note: str | None = None, reason: str | None = None
) -> LicenseEvent:
    """Add a history row describing the license's current state; moves the head."""
    if license.id is None:
        db.session.flush()
    last = db.session.execute(
        sa.select(LicenseEvent.seq, LicenseEvent.hash)
        .where(LicenseEvent.license_id == license.id)
        .order_by(LicenseEvent.seq.desc())
        .limit(1)
    ).first()
    # Microseconds are what both databases keep, so the hash survives a round trip.
    event = LicenseEvent(
        license_id=license.id,
        seq=(last.seq + 1) if last else 1,
        kind=kind,
        level=license.level,
        status=license.status,
        expires_at=license.expires_at,
        actor_id=getattr(actor, "id", None),
        at=utcnow(),
        note=note or None,
        reason=reason or None,
        prev_hash=last.hash if last else GENESIS,
    )
    event.hash = compute_hash(event)
    db.session.add(event)
    license.head_hash = event.hash
    return event


@dataclass
class ChainResult:
    ok: bool
    checked: int
    head: str
    bad_seq: int | None = None
    bad_id: int | None = None
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        if self.ok:
            return f"history intact: {self.checked} rows, head {self.head[:16]}…"
        where = f"row {self.bad_seq}" if self.bad_seq is not None else "the head"
        return f"history broken at {where}: {self.problem}"


def verify_history(license: License) -> ChainResult:
    """Recompute the chain; the result names the first bad row, if any."""
    rows = _rows(license.id)
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        problem = None
        if row.seq != expected_seq:
            problem = f"row {expected_seq} is missing"
        elif row.prev_hash != prev:
            problem = "it does not follow the previous row"
        elif compute_hash(row) != row.hash:
            problem = "its content was changed"
        if problem:
            return ChainResult(False, expected_seq - 1, prev, row.seq, row.id, problem)
        prev = row.hash
    if not rows:
        return ChainResult(False, 0, GENESIS, None, None, "the license has no history")
    if license.head_hash != prev:
        return ChainResult(
            False, len(rows), prev, None, None, "the license's integrity hash is not the last row's"
        )
    return ChainResult(True, len(rows), prev)
