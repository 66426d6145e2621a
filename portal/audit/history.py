"""Events with chosen times, properly chained: for demo history, tests and benchmarks.

``record()`` stamps events with the current time. Demo data and benchmarks need
history spread over past weeks, so these helpers build events with a given
``at`` and seal them onto the chain exactly as ``record()`` does.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from portal.audit import actions, chain
from portal.audit.services import _clean
from portal.models.audit import AuditEvent, Outcome


def append(session, *, at: datetime, action: str, actor=None, resource=None,
           outcome: str = Outcome.SUCCESS, ip: str | None = None, user_agent: str | None = None,
           method: str | None = None, path: str | None = None, status: int | None = None,
           actor_label: str | None = None, **details: Any) -> AuditEvent:
    """Add one sealed event at time ``at`` (call in ``at`` order); the caller commits."""
    if isinstance(resource, tuple):
        resource_type, resource_id = resource
    elif resource is not None:
        resource_type, resource_id = resource.audit_type, resource.id
    else:
        resource_type = resource_id = None
    event = AuditEvent(
        at=at,
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or actor_label,
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        details=_clean(details),
        ip=ip,
        user_agent=user_agent,
        method=method,
        path=path,
        status=status,
        outcome=outcome,
    )
    chain.seal(session, event)
    session.add(event)
    return event


# -- bulk generation for benchmarks ----------------------------------------------

_MIX = [
    (actions.LOGIN, Outcome.SUCCESS, 30), (actions.LOGIN_FAILED, Outcome.FAILURE, 8),
    (actions.LOGOUT, Outcome.SUCCESS, 15), (actions.ACCESS_DENIED, Outcome.DENIED, 3),
    (actions.LICENSE_CERTIFICATE_DOWNLOADED, Outcome.SUCCESS, 12),
    (actions.LICENSE_UPGRADE_REQUESTED, Outcome.SUCCESS, 6), (actions.LICENSE_ISSUED, Outcome.SUCCESS, 5),
    (actions.LICENSE_UPGRADE_APPROVED, Outcome.SUCCESS, 4), (actions.USER_UPDATED, Outcome.SUCCESS, 7),
    (actions.CLASS_JOINED, Outcome.SUCCESS, 5), (actions.LOCKOUT, Outcome.FAILURE, 1),
    (actions.REQUIREMENT_CONFIRMED, Outcome.SUCCESS, 4),
]


def generate(session, n: int, *, start: datetime, end: datetime, actor_ids: list[int] | None = None,
             batch: int = 10_000, seed: int = 7, progress=None) -> int:
    """Append ``n`` synthetic events spread evenly from ``start`` to ``end``, fast.

    Rows are built and hashed in Python and inserted with executemany in
    batches; the result is a valid chain continuing from the current head.
    The caller commits at the end (each batch is flushed, not committed).
    """
    rng = random.Random(seed)
    choices = [(a, o) for a, o, w in _MIX for _ in range(w)]
    actor_ids = actor_ids or [None]
    seq, prev = chain.head(session)
    step = (end - start) / max(n, 1)
    table = AuditEvent.__table__
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(2000)]
    rows: list[dict] = []
    for i in range(n):
        action, outcome = rng.choice(choices)
        actor_id = rng.choice(actor_ids)
        at = start + step * i
        seq += 1
        values = {
            "seq": seq, "at": at, "actor_id": actor_id,
            "actor_label": f"user{actor_id}@scale.test" if actor_id else None,
            "action": action, "resource_type": "user" if actor_id else None,
            "resource_id": str(actor_id) if actor_id else None,
            "details": {"n": i}, "ip": rng.choice(ips), "user_agent": "bench/1.0",
            "method": "POST", "path": "/bench", "status": 200 if outcome == Outcome.SUCCESS else 403,
            "outcome": outcome, "prev_hash": prev,
        }
        values["hash"] = prev = chain.compute_hash(SimpleNamespace(**values))
        rows.append(values)
        if len(rows) >= batch:
            session.execute(sa.insert(table), rows)
            rows = []
            if progress:
                progress(i + 1)
    if rows:
        session.execute(sa.insert(table), rows)
    return n



def spread(start: datetime, end: datetime, count: int, rng: random.Random) -> list[datetime]:
    """``count`` sorted random times between ``start`` and ``end``."""
    span = (end - start).total_seconds()
    return sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
