"""login throttles: wrong passwords counted per account and source, with backoff

Replaces users.failed_logins and users.locked_until (one count and one lock per
account, which anyone could trip) by one row per (account, source).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lock_count", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_throttles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "source", name=op.f("pk_login_throttles")),
    )
    # The old count and lock did not know where the attempts came from: they become the
    # account-wide row ("*"). A lock in force keeps every source out, as before, until it
    # ends (no source is known yet); a count goes on toward the account-wide threshold.
    op.execute(
        "INSERT INTO login_throttles (user_id, source, failures, locked_until, lock_count,"
        " last_failure_at, last_success_at, updated_at)"
        " SELECT id, '*', failed_logins, locked_until,"
        " CASE WHEN locked_until IS NULL THEN 0 ELSE 1 END, updated_at, NULL, updated_at"
        " FROM users WHERE failed_logins > 0 OR locked_until IS NOT NULL"
    )
    op.drop_column("users", "failed_logins")
    op.drop_column("users", "locked_until")


def downgrade():
    op.add_column("users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE users SET locked_until = (SELECT max(t.locked_until) FROM login_throttles t"
        " WHERE t.user_id = users.id)"
    )
    op.drop_table("login_throttles")
