"""notifications: the unread count reads a partial index of the unread ones only

Replaces the index on (user_id, read_at) by the same index of the unread rows only: the
header's count and "mark all read" ask for a person's unread notifications, and an index
of just those answers them from the index alone on both databases (read_at stays in it
so SQLite sees the index covers the condition), however many read ones pile up.

Revision ID: 0027
Revises: 0017
Create Date: 2026-11-30 17:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0017"
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")


def upgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_user_id_read_at")
        batch.create_index("ix_notifications_unread_user_id", ["user_id", "read_at"], unique=False,
                           sqlite_where=UNREAD, postgresql_where=UNREAD)


def downgrade():
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_unread_user_id", sqlite_where=UNREAD, postgresql_where=UNREAD)
        batch.create_index("ix_notifications_user_id_read_at", ["user_id", "read_at"], unique=False)
