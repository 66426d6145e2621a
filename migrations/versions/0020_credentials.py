"""credentials: each license's Open Badges credentials and their status-list indexes

Licenses already issued get their credential when it is first asked for.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status_index >= 0 AND status_index < 131072",
                           name=op.f("ck_credentials_status_index")),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"], name=op.f("fk_credentials_license_id_licenses"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("status_index", name=op.f("uq_credentials_status_index")),
        sa.UniqueConstraint("uuid", name=op.f("uq_credentials_uuid")),
    )
    with op.batch_alter_table("credentials") as batch:
        batch.create_index(batch.f("ix_credentials_license_id"), ["license_id"], unique=False)


def downgrade():
    with op.batch_alter_table("credentials") as batch:
        batch.drop_index(batch.f("ix_credentials_license_id"))
    op.drop_table("credentials")
