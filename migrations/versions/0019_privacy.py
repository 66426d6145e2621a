"""privacy: audit events whose personal fields can be forgotten, and the keys that seal them

Why the chain is re-sealed, and how it still verifies
-----------------------------------------------------
Until now each audit event's hash covered its personal fields (``actor_label``,
``details``, ``ip``, ``user_agent``) directly, so emptying them for an erasure or the
IP-retention purge would have broken the chain. From this revision the hash covers,
instead of those four fields, two HMAC-SHA256 digests of them made with a per-person key
(``audit_keys``) and that key's id (``portal.audit.privacy`` explains the design):
erasure empties the fields and destroys the key, and every hash stays as it was.

Existing events are moved to the new form here, once: in sequence order each event gets
its key (the person it is about, or the month's key for events about nobody), its two
digests, and a new hash linked to the new hash before it. Nothing an event says changes;
only how it is hashed. The chain then verifies from its genesis as before, and its last
event is ``audit.resealed``, which records the head hash and event count the chain had
before (``previous_head``, ``previous_count``), so a signed checkpoint made before the
upgrade can still be matched to what it covered. Make a new checkpoint after upgrading
(``flask --app wsgi audit checkpoint``): checkpoints compare hashes, and every hash moved.

On PostgreSQL the append-only trigger is replaced by one that still rejects every DELETE
and every UPDATE that changes a hashed column, but lets the personal fields be emptied.

Revision ID: 0019
Revises: 0021
Create Date: 2026-12-05 09:00:00
"""
import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# The hashing and the keys are the app's own (this revision moves the chain to them).
from portal.audit import actions, chain, privacy
from portal.hashchain import GENESIS
from portal.models.audit import AuditEvent

revision = "0019"
down_revision = "0021"
branch_labels = None
depends_on = None

FUNCTION = "audit_events_append_only"
TRIGGER = "audit_events_no_update_delete"
HASHED = ("id", "seq", "at", "actor_id", "action", "resource_type", "resource_id", "method", "path",
          "status", "outcome", "key_id", "identity_digest", "network_digest", "prev_hash", "hash")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _old_trigger():
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
    """)


def _new_trigger():
    new = ", ".join(f"NEW.{c}" for c in HASHED)
    old = ", ".join(f"OLD.{c}" for c in HASHED)
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' OR ROW({new}) IS DISTINCT FROM ROW({old}) THEN
                RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql
    """)


def _set_trigger(enabled: bool):
    if _pg():
        op.execute(f"ALTER TABLE audit_events {'ENABLE' if enabled else 'DISABLE'} TRIGGER {TRIGGER}")


def upgrade():
    op.create_table(
        "audit_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("destroyed_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_keys")),
    )
    with op.batch_alter_table("audit_keys") as batch:
        batch.create_index(batch.f("ix_audit_keys_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("key_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("identity_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("network_digest", sa.String(length=64), nullable=True))
        batch.create_index("ix_audit_events_key_id", ["key_id"], unique=False)
    _reseal()
    if _pg():
        _new_trigger()


def _reseal():
    """Re-hash every event in the new form, in order, then record the change on the chain."""
    session = sa.orm.Session(bind=op.get_bind())
    _set_trigger(False)
    keys = privacy.KeyCache(session)
    prev, count, old_head = GENESIS, 0, GENESIS
    events = list(session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)))
    for event in events:
        old_head = event.hash
        privacy.seal_personal(keys, event)
        event.prev_hash = prev
        event.hash = prev = chain.compute_hash(event)
        count += 1
    session.flush()
    if events:
        marker = AuditEvent(at=datetime.now(UTC), actor_id=None, action=actions.AUDIT_RESEALED,
                            details={"previous_head": old_head, "previous_count": count,
                                     "migration": revision}, outcome="success")
        chain.seal(session, marker)
        session.add(marker)
        session.flush()
    _set_trigger(True)


def _old_hash(row: dict) -> str:
    """The hash as revisions before this one made it (for the downgrade)."""
    at = row["at"]
    if at is not None and not isinstance(at, str):
        at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = {name: row[name] for name in (
        "seq", "actor_id", "actor_label", "action", "resource_type", "resource_id", "ip",
        "user_agent", "method", "path", "status", "outcome", "prev_hash")}
    content["at"] = at
    content["details"] = row["details"] or {}
    data = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(row["prev_hash"].encode() + data).hexdigest()


def downgrade():
    if _pg():
        _old_trigger()
    session = sa.orm.Session(bind=op.get_bind())
    _set_trigger(False)
    table = AuditEvent.__table__
    prev, pending = GENESIS, []
    for row in session.execute(sa.select(table).order_by(table.c.seq)).mappings():
        row = dict(row)
        row["prev_hash"] = prev
        prev = _old_hash(row)
        pending.append({"_id": row["id"], "prev_hash": row["prev_hash"], "hash": prev})
    if pending:
        session.execute(table.update().where(table.c.id == sa.bindparam("_id")).values(
            prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")), pending)
    session.flush()
    _set_trigger(True)
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index("ix_audit_events_key_id")
        batch.drop_column("network_digest")
        batch.drop_column("identity_digest")
        batch.drop_column("key_id")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("audit_keys") as batch:
        batch.drop_index(batch.f("ix_audit_keys_user_id"))
    op.drop_table("audit_keys")
