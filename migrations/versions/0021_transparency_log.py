"""transparency log: leaves, stored subtree hashes and signed checkpoints

Every license history row already in the database becomes a leaf here, oldest first
(``portal.transparency.log.backfill``), so an existing academy's log is complete from the
start; from now on the services append each new row in its own transaction.

Revision ID: 0021
Revises: 0016
Create Date: 2026-11-30 13:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from portal.transparency import log

revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "transparency_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("holder_salt", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_transparency_leaves")),
    )
    op.create_index("ix_transparency_leaves_license", "transparency_leaves", ["license_id", "event_seq"])
    op.create_table(
        "transparency_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_transparency_nodes")),
    )
    op.create_table(
        "transparency_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transparency_checkpoints")),
        sa.UniqueConstraint("origin", "size", name=op.f("uq_transparency_checkpoints_origin")),
    )
    session = Session(bind=op.get_bind())
    log.backfill(session)
    session.flush()


def downgrade():
    op.drop_table("transparency_checkpoints")
    op.drop_table("transparency_nodes")
    op.drop_table("transparency_leaves")
