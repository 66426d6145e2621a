"""catalogue titles: each specialization's name and each level's title per language

English stays in ``specializations.name`` and ``levels.title``; ``titles`` holds the
other languages' ({"es": "...", "hu": "..."}). Empty for everything already here: until
an admin writes a title, every language reads the English one (a level still called
"Level 2", as Portal names new levels, reads "Level 2" in each language's words).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = ("specializations", "levels")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("titles", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("titles")
