"""users.email_confirmed_at: registration confirms the address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00

Accounts that exist already and are not pending were registered, or created by an
admin, before confirmation existed: they count as confirmed when they were made.
Pending ones (created by an admin, waiting for their set-password link) are confirmed
by that link.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_confirmed_at = created_at WHERE status <> 'pending'")


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_confirmed_at")
