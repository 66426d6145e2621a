"""Factories for audit tests: events with chosen times and fields, on a valid chain."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.seed import audit_events

# A fixed "now" for events made by tests, recent enough for the 7-day period.
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


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
                event = audit_events.append(db.session, at=at, actor=actor, **spec)
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
