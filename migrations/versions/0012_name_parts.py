"""name parts: optional given and family name beside the one display name

Empty for everyone already here: ``users.name`` stays the name as written and is never
split; the parts are filled only by the person or an admin (portal.names).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("given_name", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("family_name", sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("family_name")
        batch.drop_column("given_name")
