"""notifications: in-portal notifications, e-mail preferences per category, and the
mail deliveries that send each notification (or daily digest) exactly once

Revision ID: 0018
Revises: 0020
Create Date: 2026-11-30 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'dropped')",
                           name=op.f("ck_mail_deliveries_status")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_mail_deliveries_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_mail_deliveries_key")),
    )
    with op.batch_alter_table("mail_deliveries") as batch:
        batch.create_index(batch.f("ix_mail_deliveries_user_id"), ["user_id"], unique=False)
        batch.create_index("ix_mail_deliveries_status_next_attempt_at", ["status", "next_attempt_at"],
                           unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mail", sa.String(length=8), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.CheckConstraint(
            "category IN ('decisions', 'license_status', 'expiry', 'security', 'classes', 'achievements')",
            name=op.f("ck_notifications_category")),
        sa.CheckConstraint("mail IN ('instant', 'daily', 'off')", name=op.f("ck_notifications_mail")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delivery_id"], ["mail_deliveries.id"],
                                name=op.f("fk_notifications_delivery_id_mail_deliveries"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.create_index(batch.f("ix_notifications_delivery_id"), ["delivery_id"], unique=False)
        batch.create_index("ix_notifications_user_id_id", ["user_id", "id"], unique=False)
        batch.create_index("ix_notifications_user_id_read_at", ["user_id", "read_at"], unique=False)
        batch.create_index("ix_notifications_mail_delivery_id", ["mail", "delivery_id"], unique=False)
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('instant', 'daily', 'off')", name=op.f("ck_notification_preferences_mode")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_notification_preferences_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "category", name=op.f("pk_notification_preferences")),
    )


def downgrade():
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
    op.drop_table("mail_deliveries")
