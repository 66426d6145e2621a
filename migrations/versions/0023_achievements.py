"""achievements: definitions, awards, certificate verifications; the person's switch to
hide them and the admin's switch for a class's summary

Revision ID: 0023
Revises: 0015
Create Date: 2026-11-30 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "achievements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("titles", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("descriptions", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("icon", sa.String(length=16), nullable=False),
        sa.Column("xp", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=24), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("specialization_id", sa.Integer(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("xp >= 0", name=op.f("ck_achievements_xp")),
        sa.CheckConstraint("count >= 1", name=op.f("ck_achievements_count")),
        sa.ForeignKeyConstraint(["specialization_id"], ["specializations.id"],
                                name=op.f("fk_achievements_specialization_id_specializations"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievements")),
    )
    op.create_table(
        "achievement_awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_achievement_awards_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievements.id"],
                                name=op.f("fk_achievement_awards_achievement_id_achievements"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_achievement_awards")),
        sa.UniqueConstraint("user_id", "achievement_id", name=op.f("uq_achievement_awards_user_id")),
    )
    with op.batch_alter_table("achievement_awards") as batch:
        batch.create_index(batch.f("ix_achievement_awards_achievement_id"), ["achievement_id"], unique=False)
    op.create_table(
        "certificate_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("checker", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"],
                                name=op.f("fk_certificate_verifications_license_id_licenses"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_verifications")),
        sa.UniqueConstraint("license_id", "checker", name=op.f("uq_certificate_verifications_license_id")),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("show_achievements", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("classes") as batch:
        batch.add_column(sa.Column("achievements_summary", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("classes") as batch:
        batch.drop_column("achievements_summary")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("show_achievements")
    op.drop_table("certificate_verifications")
    op.drop_table("achievement_awards")
    op.drop_table("achievements")
