"""user search index: trigram indexes on users' names and e-mail addresses, audit events by actor label

PostgreSQL: the pg_trgm extension and GIN indexes on name and email, which serve
``name ILIKE '%text%'`` and ``email LIKE '%text%'`` (portal.search). SQLite: the FTS5
table users_search (trigram tokenizer, external content over users) and the triggers that
keep it in step with users in the same transaction. Both: an index on audit_events (actor_label, at), for the actor filter
of an account that is gone (the e-mail kept on its events).

A later migration that rebuilds the users table on SQLite (batch mode: copy, drop,
rename) drops these triggers with the old table: it must create them again
(``create_sqlite_triggers`` below) and rebuild the index.

Revision ID: 0024
Revises: 0025
Create Date: 2026-11-30 17:00:00
"""
from alembic import op

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None

TRIGGERS = {
    "users_search_insert": """
        CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
            INSERT INTO users_search (rowid, name, email) VALUES (new.id, new.name, new.email);
        END""",
    "users_search_delete": """
        CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
            INSERT INTO users_search (users_search, rowid, name, email)
            VALUES ('delete', old.id, old.name, old.email);
        END""",
    "users_search_update": """
        CREATE TRIGGER users_search_update AFTER UPDATE OF id, name, email ON users BEGIN
            INSERT INTO users_search (users_search, rowid, name, email)
            VALUES ('delete', old.id, old.name, old.email);
            INSERT INTO users_search (rowid, name, email) VALUES (new.id, new.name, new.email);
        END""",
}


def create_sqlite_triggers():
    for sql in TRIGGERS.values():
        op.execute(sql)


def upgrade():
    op.create_index("ix_audit_events_actor_label_at", "audit_events", ["actor_label", "at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_users_name_trgm ON users USING gin (name gin_trgm_ops)")
        op.execute("CREATE INDEX ix_users_email_trgm ON users USING gin (email gin_trgm_ops)")
        return
    op.execute("CREATE VIRTUAL TABLE users_search USING fts5("
               "name, email, content='users', content_rowid='id', tokenize='trigram')")
    op.execute("INSERT INTO users_search (users_search) VALUES ('rebuild')")
    create_sqlite_triggers()


def downgrade():
    op.drop_index("ix_audit_events_actor_label_at", table_name="audit_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_users_email_trgm")
        op.execute("DROP INDEX IF EXISTS ix_users_name_trgm")
        # The extension stays: other objects of the database may use it.
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS users_search")
