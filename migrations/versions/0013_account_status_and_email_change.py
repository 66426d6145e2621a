"""account: the archived status, and a change of e-mail address waiting for its link

``users.status`` may now be ``archived`` (people who left: cannot log in, kept for the
records). ``users.pending_email`` holds an address asked for on /account until the link
mailed to it is opened.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_users_status"), "status IN ('active', 'suspended', 'pending', 'archived')"
        )
        batch.add_column(sa.Column("pending_email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("pending_email_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # Archived accounts go back to suspended: neither can log in.
    op.execute("UPDATE users SET status = 'suspended' WHERE status = 'archived'")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("pending_email_requested_at")
        batch.drop_column("pending_email")
        batch.drop_constraint(op.f("ck_users_status"), type_="check")
        batch.create_check_constraint(op.f("ck_users_status"), "status IN ('active', 'suspended', 'pending')")
