"""The app under test, on a fresh database for every test.

The suite runs once per database backend, chosen by ``PORTAL_TEST_DATABASE``
(``sqlite``, the default, or ``postgresql``). Either way the schema is made by the
migrations, once per run; every test then starts from a clean copy.

``app`` does not push an application context: requests through ``client`` get
their own, as in production. Use ``with app.app_context():`` to touch the
database in a test.
"""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db, limiter

BACKEND = os.environ.get("PORTAL_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# Fast hashing for tests; the production parameters are tested on their own.
TEST_SETTINGS = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "PORTAL_BASE_URL": "http://portal.test",
    "JOBS_INLINE": True,
    # Factory-made admins log in with a password alone; the tests of two-factor sign-in
    # turn the admins' rule on (tests/auth/test_two_factor*.py). Users enrolled in TOTP
    # (the demo admin) pass the second step with tests.support.two_factor.
    "PORTAL_ADMIN_2FA_REQUIRED": False,
    "TOTP_KEY": "test-totp-key-not-for-production",
}


@dataclass
class TestDatabase:
    backend: str
    template: Path | None = None
    url: str | None = None

    def fresh_url(self, tmp_path: Path) -> str:
        """A clean, migrated database for one test."""
        if self.backend == "sqlite":
            target = tmp_path / "portal.db"
            shutil.copyfile(self.template, target)
            return f"sqlite:///{target}"
        truncate_all(self.url)
        return self.url


def migrate(url: str, instance: Path) -> None:
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


def truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            tables = [
                name for name in sa.inspect(conn).get_table_names() if name != "alembic_version"
            ]
            if tables:
                quoted = ", ".join(f'"{t}"' for t in tables)
                conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


def pg_admin_engine():
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    engine = pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001  - any failure means "not here"
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    if BACKEND == "sqlite":
        folder = tmp_path_factory.mktemp("template")
        template = folder / "template.db"
        migrate(f"sqlite:///{template}", folder / "instance")
        yield TestDatabase("sqlite", template=template)
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"PORTAL_TEST_DATABASE must be sqlite or postgresql, not {BACKEND!r}")
    reason = postgres_available()
    if reason:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL.split('@')[-1]} ({reason})")
    name = f"portal_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = pg_admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url, tmp_path_factory.mktemp("pg-instance"))
        yield TestDatabase("postgresql", url=url)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def db_url(database, tmp_path) -> str:
    return database.fresh_url(tmp_path)


@pytest.fixture
def app_factory(db_url, tmp_path):
    """Build an app on this test's database; extra settings override the test ones."""
    made = []

    def build(**settings):
        app = create_app(
            {
                **TEST_SETTINGS,
                "SQLALCHEMY_DATABASE_URI": db_url,
                "INSTANCE_PATH": str(tmp_path / "instance"),
                **settings,
            }
        )
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def fresh_limiter(monkeypatch):
    """The limiter is one object per process; give this test its own key prefix and state.
    (Tests that turn the limits on build their app with ``RATELIMIT_ENABLED=True``.)"""
    prefix = f"portal-test-{uuid.uuid4().hex}"
    monkeypatch.setattr(limiter, "_key_prefix", prefix)
    monkeypatch.setattr(limiter, "_storage_dead", False)
    return prefix
