"""replaced join codes: a table instead of a search through the audit trail

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:00:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "replaced_join_codes",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["classes.id"],
            name=op.f("fk_replaced_join_codes_class_id_classes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_replaced_join_codes")),
    )
    op.create_index(
        op.f("ix_replaced_join_codes_class_id"), "replaced_join_codes", ["class_id"]
    )
    # The codes replaced so far are known only from the audit trail.
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT resource_id, details, at FROM audit_events"
            " WHERE action = 'class.code_rotated' AND resource_type = 'class' ORDER BY seq"
        )
    ).all()
    classes = dict(conn.execute(sa.text("SELECT id, join_code FROM classes")).all())
    current = set(classes.values())
    found = {}
    for resource_id, details, at in rows:
        details = json.loads(details) if isinstance(details, str) else details
        code = (details or {}).get("old_code")
        class_id = int(resource_id) if resource_id and resource_id.isdigit() else None
        if code and class_id in classes and code not in current:
            found[code] = {"code": code, "class_id": class_id, "replaced_at": at}
    if found:
        conn.execute(
            sa.text(
                "INSERT INTO replaced_join_codes (code, class_id, replaced_at)"
                " VALUES (:code, :class_id, :replaced_at)"
            ),
            list(found.values()),
        )


def downgrade():
    op.drop_index(op.f("ix_replaced_join_codes_class_id"), table_name="replaced_join_codes")
    op.drop_table("replaced_join_codes")
