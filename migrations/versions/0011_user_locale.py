"""user locale: the language each person reads Portal in

Empty for everyone already here: until they pick a language (the footer, their account)
or log in having picked one, they get their browser's, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locale")
