"""consent records: guardian consent with its evidence and withdrawal; licenses flagged
for consent review

Each consent already recorded (``users.guardian_consent_at``) becomes a record whose
evidence says it was recorded before evidence was kept.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 10:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("guardian_name", sa.String(length=120), nullable=False),
        sa.Column("relationship", sa.String(length=60), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawal_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("method IN ('signed_form', 'email', 'in_person')",
                           name=op.f("ck_consent_records_method")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_consent_records_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_consent_records_recorded_by_id_users")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["users.id"],
                                name=op.f("fk_consent_records_withdrawn_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    with op.batch_alter_table("consent_records") as batch:
        batch.create_index(batch.f("ix_consent_records_user_id"), ["user_id"], unique=False)
    op.execute(
        "INSERT INTO consent_records (user_id, guardian_name, relationship, method, note,"
        " recorded_by_id, recorded_at)"
        " SELECT id, COALESCE(guardian_name, ''), 'guardian', 'signed_form',"
        " 'Recorded before evidence was kept.', guardian_consent_by_id, guardian_consent_at"
        " FROM users WHERE guardian_consent_at IS NOT NULL"
    )
    with op.batch_alter_table("licenses") as batch:
        batch.add_column(sa.Column("consent_review_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("consent_review_at")
    with op.batch_alter_table("consent_records") as batch:
        batch.drop_index(batch.f("ix_consent_records_user_id"))
    op.drop_table("consent_records")
