"""audit events are append-only on PostgreSQL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:40:00

A trigger rejects every UPDATE and DELETE on audit_events, so even someone with
the application's database login cannot quietly rewrite history (the hash chain
would still reveal it; this stops it happening). TRUNCATE is not a row event and
is not blocked. SQLite has no such guard; the chain check covers it.
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FUNCTION = "audit_events_append_only"
TRIGGER = "audit_events_no_update_delete"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute(f"""
        CREATE TRIGGER {TRIGGER}
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()
    """)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON audit_events")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
