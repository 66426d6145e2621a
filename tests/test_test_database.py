"""Each test starts from the freshly migrated database, whatever the one before it left."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests.support.app import BACKEND


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
            return {n: conn.exec_driver_sql(f'SELECT count(*) FROM "{n}"').scalar() for n in names}
    finally:
        engine.dispose()


def test_a_fresh_database_holds_what_the_migrations_left_and_counts_ids_from_one(
    app, database, db_url, tmp_path, make_user, make_specialization, make_license
):
    fresh = counts(db_url)  # this test's start: a fresh database
    admin = make_user("admin")
    make_license(make_user("student"), make_specialization("PLY", "Player"), 1, actor=admin)
    assert counts(db_url)["audit_events"] > 0 and counts(db_url)["license_events"] > 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    url = database.fresh_url(tmp_path)

    assert url == db_url and counts(url) == fresh
    student = make_user("student")
    assert student.id == 1  # the sequences start again
    if BACKEND == "postgresql":  # and the audit trail's append-only trigger is on again
        make_license(student, make_specialization("PLY", "Player"), 1, actor=student)
        engine = sa.create_engine(url)
        try:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM audit_events")
        finally:
            engine.dispose()
