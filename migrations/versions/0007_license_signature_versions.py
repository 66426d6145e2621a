"""license signature versions: signing contexts, and the specialization's code instead of its name

Every signature made so far is version 1: the bare canonical JSON of the license's
state, which named the specialization. Its name at signing time is kept beside it,
so a later rename leaves those signatures verifiable. New signatures are version 2.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "licenses", sa.Column("signature_version", sa.Integer(), nullable=False, server_default="2")
    )
    op.add_column("licenses", sa.Column("signed_specialization_name", sa.String(length=80), nullable=True))
    op.execute(
        "UPDATE licenses SET signature_version = 1, signed_specialization_name ="
        " (SELECT s.name FROM specializations s WHERE s.id = licenses.specialization_id)"
    )


def downgrade():
    op.drop_column("licenses", "signed_specialization_name")
    op.drop_column("licenses", "signature_version")
