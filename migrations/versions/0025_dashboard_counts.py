"""dashboard counts: the admin overview's figures kept by the changes that move them

Revision ID: 0025
Revises: 0027
Create Date: 2026-11-30 17:00:00
"""
import sqlalchemy as sa
from alembic import op

from portal.stats.summary import recount_rows

revision = "0025"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "dashboard_counts",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key_a", sa.String(length=40), nullable=False),
        sa.Column("key_b", sa.String(length=40), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key_a", "key_b", name=op.f("pk_dashboard_counts")),
    )
    # Fill it from what the database already holds (the same recount `stats recount` makes).
    rows = recount_rows(op.get_bind())
    if rows:
        op.bulk_insert(sa.table("dashboard_counts", sa.column("kind"), sa.column("key_a"),
                                sa.column("key_b"), sa.column("n", sa.BigInteger())), rows)


def downgrade():
    op.drop_table("dashboard_counts")
