"""The per-person keys that seal personal data in the audit trail (SPEC §11)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import utcnow
from portal.extensions import db


class AuditKey(db.Model):
    """A secret that commits an audit event's personal fields (``portal.audit.privacy``).

    One per person (``user_id``), or one per month for events about nobody in particular
    (``user_id`` empty, ``period`` "2026-11"). Erasing the person, or the retention purge for
    a month of anonymous events, destroys the secret: the events stay on the chain, their
    personal fields are emptied, and nothing is left to link the stored digests to a guess.
    """

    __tablename__ = "audit_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: an event may be about an account that is gone (an unconfirmed
    # registration removed after 7 days) or was never there (a made-up id).
    user_id: Mapped[int | None] = mapped_column(index=True)
    period: Mapped[str | None] = mapped_column(sa.String(7))
    # 32 random bytes as hex; None once destroyed.
    secret: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    destroyed_at: Mapped[datetime | None]
    destroyed_reason: Mapped[str | None] = mapped_column(sa.String(32))
