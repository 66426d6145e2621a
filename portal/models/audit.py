"""The append-only, hash-chained audit trail."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import utcnow
from portal.extensions import db


class Outcome:
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"
    ALL = (SUCCESS, FAILURE, DENIED)


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Position in the chain: 1, 2, 3 ... with no gaps.
    seq: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The actor's e-mail at the time, kept even if the account changes.
    actor_label: Mapped[str | None] = mapped_column(sa.String(254))
    action: Mapped[str] = mapped_column(sa.String(64))
    resource_type: Mapped[str | None] = mapped_column(sa.String(32))
    resource_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
    user_agent: Mapped[str | None] = mapped_column(sa.String(512))
    method: Mapped[str | None] = mapped_column(sa.String(8))
    path: Mapped[str | None] = mapped_column(sa.String(512))
    status: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(sa.String(16), default=Outcome.SUCCESS)
    # The personal fields above (actor_label, details, ip, user_agent) are not hashed into
    # the chain directly: two HMACs under the key of the person the event is about are
    # (portal.audit.privacy), so erasure and retention can empty them and the chain verifies.
    key_id: Mapped[int | None] = mapped_column(sa.Integer)
    identity_digest: Mapped[str | None] = mapped_column(sa.String(64))
    network_digest: Mapped[str | None] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    __table_args__ = (
        sa.Index("ix_audit_events_at", "at"),
        sa.Index("ix_audit_events_actor_at", "actor_id", "at"),
        # The actor filter for an account that is gone: the e-mail kept on its events.
        sa.Index("ix_audit_events_actor_label_at", "actor_label", "at"),
        sa.Index("ix_audit_events_action_at", "action", "at"),
        sa.Index("ix_audit_events_resource", "resource_type", "resource_id", "at"),
        sa.Index("ix_audit_events_ip_at", "ip", "at"),
        sa.Index("ix_audit_events_outcome_at", "outcome", "at"),
        sa.Index("ix_audit_events_key_id", "key_id"),
    )
