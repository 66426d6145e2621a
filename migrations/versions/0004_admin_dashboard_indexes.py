"""indexes for the admin dashboard's counts: active licenses by specialization and level,
licenses issued and students registered per week

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:20:00
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_licenses_status", table_name="licenses")
    op.create_index(
        "ix_licenses_status_spec_level", "licenses", ["status", "specialization_id", "level"]
    )
    op.create_index("ix_licenses_issued_at", "licenses", ["issued_at"])
    op.create_index("ix_users_role_created_at", "users", ["role", "created_at"])


def downgrade():
    op.drop_index("ix_users_role_created_at", table_name="users")
    op.drop_index("ix_licenses_issued_at", table_name="licenses")
    op.drop_index("ix_licenses_status_spec_level", table_name="licenses")
    op.create_index("ix_licenses_status", "licenses", ["status"])
