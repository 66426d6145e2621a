"""The audit trail in tests: reading it (``audit_events``), writing to it, tampering with it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app, has_app_context

from portal.audit import actions
from portal.audit.services import record
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.seed import audit_events as seed_events

# A fixed "now" for events made by tests, recent enough for the 7-day period.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


class AuditTrail:
    """``audit_events(action=None, since=0)``: the events (of one action, after the event
    id ``since``), in chain order.

    Inside an app context of the test's app it reads that context's session, so events
    not committed yet are seen and stay attached; outside, it reads as a GET request
    (a reader, which on SQLite never queues behind a writer) and returns them detached.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, action: str | None = None, *, since: int = 0) -> list[AuditEvent]:
        stmt = sa.select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.seq, AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        if self._inside():
            return list(db.session.scalars(stmt))
        with self.app.test_request_context(method="GET"):
            found = list(db.session.scalars(stmt))
            for event in found:
                db.session.expunge(event)
            return found

    def _inside(self) -> bool:
        return has_app_context() and current_app._get_current_object() is self.app

    def actions(self, *, since: int = 0) -> list[str]:
        """The actions of the events after ``since``, in order."""
        return [event.action for event in self(since=since)]

    def mark(self) -> int:
        """The id of the last event so far: pass it as ``since`` to see only what follows."""
        stmt = sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0))
        if self._inside():
            return db.session.scalar(stmt)
        with self.app.test_request_context(method="GET"):
            return db.session.scalar(stmt)


@pytest.fixture
def audit_events(app) -> AuditTrail:
    return AuditTrail(app)


@pytest.fixture
def add_events(app):
    """Append events: ``add_events(dict(action=..., at=..., actor=user, ip=...), ...)``.

    ``at`` defaults to one second after the previous event made here; ``actor``
    may be a (detached) User. Returns the events' ids in order.
    """
    state = {"at": BASE}

    def add(*specs: dict) -> list[int]:
        ids = []
        with app.app_context():
            for spec in specs:
                spec = dict(spec)
                at = spec.pop("at", None) or state["at"] + timedelta(seconds=1)
                state["at"] = max(state["at"], at)
                actor = spec.pop("actor", None)
                spec.setdefault("action", "user.updated")
                event = seed_events.append(db.session, at=at, actor=actor, **spec)
                db.session.flush()
                ids.append(event.id)
            db.session.commit()
        return ids

    return add


@pytest.fixture
def event_count(app):
    def count() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))

    return count


def append_events(app, n: int, **details) -> None:
    """Record ``n`` "user updated" events through ``record()``, committed."""
    with app.app_context():
        for i in range(n):
            record(None, actions.USER_UPDATED, ("user", str(i)), index=i, **details)
        db.session.commit()


def tamper(app, statement: str, **params) -> None:
    """Run raw SQL as an attacker with full database access would, outside the app's code.

    On PostgreSQL a trigger refuses UPDATE and DELETE on audit_events; a superuser can
    switch triggers off for the transaction, so the chain must catch what follows.
    """
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(sa.text(statement), params)
