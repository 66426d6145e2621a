"""instructor specializations: the specializations an admin lets each instructor teach

Starts empty on purpose. Until now an instructor could open a class in any
specialization, so the existing classes say nothing about what an admin allowed:
after this upgrade an admin assigns each instructor their specializations on the
user page (instructors see an empty state saying so until then).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "instructor_specializations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("specialization_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_instructor_specializations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["specialization_id"],
            ["specializations.id"],
            name=op.f("fk_instructor_specializations_specialization_id_specializations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["users.id"],
            name=op.f("fk_instructor_specializations_assigned_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "specialization_id", name=op.f("pk_instructor_specializations")
        ),
    )
    op.create_index(
        op.f("ix_instructor_specializations_specialization_id"),
        "instructor_specializations",
        ["specialization_id"],
    )


def downgrade():
    op.drop_index(
        op.f("ix_instructor_specializations_specialization_id"),
        table_name="instructor_specializations",
    )
    op.drop_table("instructor_specializations")
