"""The hash chain of a license's history.

Each ``LicenseEvent`` stores the SHA-256 of its canonical content, which includes
the previous row's hash; the license's ``head_hash`` is the newest row's hash.
Changing, inserting or removing a row breaks the chain from that row on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import sqlalchemy as sa

from portal import transparency
from portal.db import utcnow
from portal.extensions import db
from portal.hashchain import GENESIS, ChainResult, link_hash
from portal.models.license import License, LicenseEvent

_result = partial(ChainResult, subject="history", unit="row")


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _content(event: LicenseEvent) -> dict:
    return {
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


def compute_hash(event: LicenseEvent) -> str:
    return link_hash(_content(event))


# Plain rows (with the attributes ``_content`` reads), built once: no history objects are
# made to check a chain.
_HISTORY = (
    sa.select(*LicenseEvent.__table__.c)
    .where(LicenseEvent.__table__.c.license_id == sa.bindparam("license_id"))
    .order_by(LicenseEvent.__table__.c.seq)
)


def _rows(license_id: int) -> list[sa.Row]:
    return list(db.session.execute(_HISTORY, {"license_id": license_id}))


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
    transparency.append(license, event)  # the public log gets the row in this transaction
    return event


def verify_history(license: License, rows=None) -> ChainResult:
    """Recompute the chain; the result names the first bad row, if any. ``rows`` are the
    license's history rows oldest first when the caller has read them already (the
    license page shows them too); otherwise they are read here."""
    rows = _rows(license.id) if rows is None else rows
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
            return _result(False, expected_seq - 1, prev, row.seq, row.id, problem)
        prev = row.hash
    if not rows:
        return _result(False, 0, GENESIS, None, None, "the license has no history")
    if license.head_hash != prev:
        return _result(
            False, len(rows), prev, None, None, "the license's integrity hash is not the last row's"
        )
    return _result(True, len(rows), prev)
