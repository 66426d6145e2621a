"""indexes for the dashboards: a student's requests, an instructor's decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:58:00
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_upgrade_requests_user_created", "upgrade_requests", ["user_id", "created_at"]
    )
    op.create_index(
        "ix_upgrade_requests_decider", "upgrade_requests", ["decided_by_id", "decided_at"]
    )


def downgrade():
    op.drop_index("ix_upgrade_requests_decider", table_name="upgrade_requests")
    op.drop_index("ix_upgrade_requests_user_created", table_name="upgrade_requests")
