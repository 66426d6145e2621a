"""Migrations that carry data: rows written under the old schema, then upgraded (and back).

0006 moves the per-account failure count and lock into login_throttles; 0007 marks
every license signed so far as signature version 1 and keeps the specialization's
name it was signed with, so a later rename does not break it; 0008 counts the accounts
made before e-mail confirmation as confirmed (but those an admin invited, still pending);
0009 widens the join codes, which on SQLite rebuilds two tables.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from portal import create_app
from portal.admin import queries as admin_queries
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.hashchain import canonical_json
from portal.licenses import state
from portal.models.catalogue import Specialization
from portal.models.license import License
from portal.models.user import LoginThrottle
from tests.support.app import BACKEND, PG_ADMIN_URL, TEST_SETTINGS, pg_admin_engine
from tests.support.factories.licenses import bare_signature


@pytest.fixture
def empty_database(database, tmp_path):
    """An empty database of this run's backend, for migrating step by step."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path / 'steps.db'}"
        return
    name = f"portal_steps_{uuid.uuid4().hex[:10]}"
    admin = pg_admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


users_0005 = sa.table(
    "users", sa.column("id"), sa.column("email"), sa.column("name"), sa.column("role"),
    sa.column("status"), sa.column("timezone"), sa.column("failed_logins"),
    sa.column("locked_until", UTCDateTime()), sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
specializations_0005 = sa.table(
    "specializations", sa.column("id"), sa.column("code"), sa.column("name"), sa.column("description"),
    sa.column("max_level"), sa.column("min_age"), sa.column("auto_issue", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
)
licenses_0005 = sa.table(
    "licenses", sa.column("id"), sa.column("code"), sa.column("holder_id"), sa.column("specialization_id"),
    sa.column("level"), sa.column("status"), sa.column("issued_at", UTCDateTime()),
    sa.column("expires_at", UTCDateTime()), sa.column("updated_at", UTCDateTime()),
    sa.column("head_hash"), sa.column("signature"), sa.column("key_id"), sa.column("version"),
)


def test_old_rows_survive_the_upgrade_and_the_downgrade(empty_database, tmp_path):
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": empty_database,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    now = utcnow().replace(microsecond=0)
    locked_until = now + timedelta(minutes=9)
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
        person = {"role": "student", "status": "active", "timezone": "UTC", "created_at": now,
                  "updated_at": now}
        db.session.execute(sa.insert(users_0005), [
            {"id": 1, "email": "locked@example.org", "name": "Locked", "failed_logins": 0,
             "locked_until": locked_until, **person},
            {"id": 2, "email": "counting@example.org", "name": "Counting", "failed_logins": 4,
             "locked_until": None, **person},
            {"id": 3, "email": "clean@example.org", "name": "Zoë Clean", "failed_logins": 0,
             "locked_until": None, **person},
        ])
        db.session.execute(sa.insert(specializations_0005), [
            {"id": 1, "code": "PLY", "name": "Player", "description": "", "max_level": 3, "min_age": 0,
             "auto_issue": True, "created_at": now},
        ])
        # A license as Portal signed it before signing contexts: the bare canonical JSON.
        row = {"id": 1, "code": "PLY-7K3Q-9XZD-M2AB-4", "holder_id": 3, "specialization_id": 1,
               "level": 2, "status": "active", "issued_at": now, "expires_at": None, "updated_at": now,
               "head_hash": "a" * 64, "version": 1}
        signed = {"code": row["code"], "holder": "Zoë Clean", "specialization": "PLY",
                  "specialization_name": "Player", "level": 2, "status": "active",
                  "issued_at": state.iso_z(now), "expires_at": None, "chain_head": "a" * 64}
        row["key_id"], row["signature"] = bare_signature(canonical_json(signed))
        db.session.execute(sa.insert(licenses_0005), [row])
        db.session.commit()

        flask_migrate.upgrade()
        throttles = {t.user_id: t for t in db.session.scalars(sa.select(LoginThrottle))}
        assert set(throttles) == {1, 2}
        assert throttles[1].source == "*" and throttles[1].locked_until == locked_until
        assert throttles[1].lock_count == 1 and throttles[1].failures == 0
        assert throttles[2].source == "*" and throttles[2].failures == 4 and throttles[2].locked_until is None
        db.session.commit()
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("users")}
        assert not {"failed_logins", "locked_until"} & columns
        # The search index (0024) holds the rows that were there before it.
        assert [u.id for u in admin_queries.users_page(q="oë cle").rows] == [3]
        assert [u.id for u in admin_queries.users_page(q="ting@example").rows] == [2]

        license = db.session.get(License, 1)
        assert license.signature_version == 1 and license.signed_specialization_name == "Player"
        assert state.check(license)
        db.session.get(Specialization, 1).name = "Field Player"
        db.session.commit()
        license = db.session.get(License, 1)
        assert state.check(license) and state.public_fields(license)["specialization_name"] == "Field Player"
        db.session.remove()

        flask_migrate.downgrade(revision="0005")
        back = dict(db.session.execute(sa.text("SELECT id, locked_until FROM users ORDER BY id")).all())
        assert back[2] is None and back[3] is None and back[1] is not None
        db.session.commit()
        assert "login_throttles" not in sa.inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()


classes_0005 = sa.table(
    "classes", sa.column("id"), sa.column("name"), sa.column("description"), sa.column("specialization_id"),
    sa.column("instructor_id"), sa.column("join_code"), sa.column("created_at", UTCDateTime()),
)
memberships_0005 = sa.table(
    "class_memberships", sa.column("id"), sa.column("class_id"), sa.column("user_id"),
    sa.column("joined_at", UTCDateTime()),
)
replaced_0005 = sa.table(
    "replaced_join_codes", sa.column("code"), sa.column("class_id"), sa.column("replaced_at", UTCDateTime()),
)


def test_confirmation_and_longer_join_codes_keep_every_row(empty_database, tmp_path):
    """The SQLite rebuild of classes once ran with foreign keys on, and its DROP deleted
    every membership (ON DELETE CASCADE); migrations/env.py turns them off for migrating."""
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": empty_database,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        flask_migrate.upgrade(revision="0005")
        person = {"timezone": "UTC", "failed_logins": 0, "locked_until": None, "created_at": now,
                  "updated_at": now}
        db.session.execute(sa.insert(users_0005), [
            {"id": 1, "email": "coach@example.org", "name": "Coach", "role": "instructor",
             "status": "active", **person},
            {"id": 2, "email": "kid@example.org", "name": "Kid", "role": "student", "status": "active",
             **person},
            {"id": 3, "email": "invited@example.org", "name": "Invited", "role": "instructor",
             "status": "pending", **person},
        ])
        db.session.execute(sa.insert(specializations_0005), [
            {"id": 1, "code": "PLY", "name": "Player", "description": "", "max_level": 3, "min_age": 0,
             "auto_issue": True, "created_at": now},
        ])
        db.session.execute(sa.insert(classes_0005), [
            {"id": 1, "name": "Old", "description": "", "specialization_id": 1, "instructor_id": 1,
             "join_code": "PLY-4KD-9QX", "created_at": now},
        ])
        db.session.execute(sa.insert(memberships_0005),
                           [{"id": 1, "class_id": 1, "user_id": 2, "joined_at": now}])
        db.session.execute(sa.insert(replaced_0005),
                           [{"code": "PLY-ACD-EFG", "class_id": 1, "replaced_at": now}])
        db.session.commit()

        flask_migrate.upgrade()
        confirmed = dict(db.session.execute(
            sa.text("SELECT email, email_confirmed_at IS NOT NULL FROM users")).all())
        assert {email: bool(flag) for email, flag in confirmed.items()} == {
            "coach@example.org": True, "kid@example.org": True, "invited@example.org": False}
        assert db.session.scalar(sa.text("SELECT count(*) FROM class_memberships")) == 1
        assert db.session.scalar(sa.text("SELECT count(*) FROM replaced_join_codes")) == 1
        assert db.session.scalar(sa.text("SELECT join_code FROM classes")) == "PLY-4KD-9QX"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
