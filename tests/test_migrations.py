"""The schema comes only from the migrations, and they match the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.extensions import db


def test_models_and_migrations_do_not_drift(app):
    with app.app_context(), db.engine.connect() as conn:
        # The same filter as `flask db migrate`: the search indexes of one database are left out.
        include_name = app.extensions["migrate"].configure_args["include_name"]
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `flask db migrate`: {diff}"


def test_migrations_are_at_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        heads = ScriptDirectory.from_config(config).get_heads()
        with db.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    assert len(heads) == 1, "migrations must form one line"
    assert set(current) == set(heads)
