"""Audit events with chosen times, properly chained: for demo history, tests and benchmarks.

``record()`` stamps events with the current time and the current request. Demo data
and benchmarks need history spread over past weeks or years, so these helpers build
events with a given ``at`` (one at a time, or in bulk) and seal them onto the chain
in order, so ``audit verify`` stays green.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from portal.audit import actions, chain, privacy
from portal.audit.services import build_event
from portal.models.audit import AuditEvent, Outcome


def append(session, *, at: datetime, action: str, actor=None, resource=None,
           outcome: str = Outcome.SUCCESS, ip: str | None = None, user_agent: str | None = None,
           method: str | None = None, path: str | None = None, status: int | None = None,
           actor_label: str | None = None, **details: Any) -> AuditEvent:
    """Add one sealed event at time ``at`` (call in ``at`` order); the caller commits."""
    event = build_event(actor, action, resource, at=at, outcome=outcome, status=status, ip=ip,
                        user_agent=user_agent, method=method, path=path, actor_label=actor_label,
                        details=details)
    chain.seal(session, event)
    session.add(event)
    return event


def insert_chained(session, rows: Iterable[dict], *, batch: int = 10_000,
                   on_batch: Callable[[int], None] | None = None) -> int:
    """Seal rows of column values (in time order) onto the chain and insert them in batches.

    The fast path for millions of events: rows are hashed in Python and written with
    executemany, each batch flushed, not committed; ``on_batch(written)`` runs after
    each (it may commit: the chain's lock is taken again). Returns how many were written.
    """
    chain.lock_chain(session)
    seq, prev = chain.head(session)
    keys = privacy.KeyCache(session)
    table = AuditEvent.__table__
    pending: list[dict] = []
    written = 0
    for values in rows:
        seq += 1
        values["seq"], values["prev_hash"] = seq, prev
        row = SimpleNamespace(**values)
        privacy.seal_personal(keys, row)
        values.update(key_id=row.key_id, identity_digest=row.identity_digest,
                      network_digest=row.network_digest)
        values["hash"] = prev = chain.compute_hash(row)
        pending.append(values)
        if len(pending) >= batch:
            session.execute(sa.insert(table), pending)
            written += len(pending)
            pending = []
            if on_batch:
                on_batch(written)
                chain.lock_chain(session)
    if pending:
        session.execute(sa.insert(table), pending)
        written += len(pending)
    return written


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
    """Append ``n`` synthetic events spread evenly from ``start`` to ``end`` (the audit benchmark).

    The result is a valid chain continuing from the current head; the caller commits.
    """
    rng = random.Random(seed)
    choices = [(a, o) for a, o, w in _MIX for _ in range(w)]
    actor_ids = actor_ids or [None]
    step = (end - start) / max(n, 1)
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(2000)]

    def rows():
        for i in range(n):
            action, outcome = rng.choice(choices)
            actor_id = rng.choice(actor_ids)
            yield {
                "at": start + step * i, "actor_id": actor_id,
                "actor_label": f"user{actor_id}@scale.test" if actor_id else None,
                "action": action, "resource_type": "user" if actor_id else None,
                "resource_id": str(actor_id) if actor_id else None,
                "details": {"n": i}, "ip": rng.choice(ips), "user_agent": "bench/1.0",
                "method": "POST", "path": "/bench", "status": 200 if outcome == Outcome.SUCCESS else 403,
                "outcome": outcome,
            }

    return insert_chained(session, rows(), batch=batch, on_batch=progress)
