"""longer join codes: room for PLY-4KDQ-9XTR-M7CA

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 10:00:00

Codes handed out before (PLY-4KD-9QX) stay as they are and keep working until their
class's code is renewed.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("classes") as batch:
        batch.alter_column("join_code", existing_type=sa.String(length=16), type_=sa.String(length=24),
                           existing_nullable=False)
    with op.batch_alter_table("replaced_join_codes") as batch:
        batch.alter_column("code", existing_type=sa.String(length=16), type_=sa.String(length=24),
                           existing_nullable=False)
    _check_references()


def _check_references():
    """SQLite rebuilt the tables with foreign keys off (migrations/env.py): make sure
    every reference still points at a row."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"foreign keys broken by the table rebuild: {broken[:5]}")


def downgrade():
    # Only possible while no class has a longer code.
    with op.batch_alter_table("replaced_join_codes") as batch:
        batch.alter_column("code", existing_type=sa.String(length=24), type_=sa.String(length=16),
                           existing_nullable=False)
    with op.batch_alter_table("classes") as batch:
        batch.alter_column("join_code", existing_type=sa.String(length=24), type_=sa.String(length=16),
                           existing_nullable=False)
