"""class invitations: a link mailed to an address joins a class

Revision ID: 0022
Revises: 0023
Create Date: 2026-11-30 13:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "class_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_user_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"],
                                name=op.f("fk_class_invitations_class_id_classes"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"],
                                name=op.f("fk_class_invitations_invited_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["joined_user_id"], ["users.id"],
                                name=op.f("fk_class_invitations_joined_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_invitations")),
    )
    with op.batch_alter_table("class_invitations") as batch:
        batch.create_index(batch.f("ix_class_invitations_class_id"), ["class_id"], unique=False)
        batch.create_index(batch.f("ix_class_invitations_invited_by_id"), ["invited_by_id"], unique=False)


def downgrade():
    with op.batch_alter_table("class_invitations") as batch:
        batch.drop_index(batch.f("ix_class_invitations_invited_by_id"))
        batch.drop_index(batch.f("ix_class_invitations_class_id"))
    op.drop_table("class_invitations")
