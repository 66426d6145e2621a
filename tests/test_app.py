"""The application factory, configuration, health check, error pages and headers."""
from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from flask import abort

from portal import create_app
from portal.config import normalise_database_url
from portal.extensions import db
from portal.models import AuditEvent
from portal.models.user import Role
from tests.support.http import csrf_token_from, login


def test_overrides_and_instance_secret(tmp_path, db_url):
    instance = tmp_path / "inst"
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": str(instance), "TESTING": True})
    key = app.config["SECRET_KEY"]
    assert len(key) == 64
    assert (instance / "secret_key").read_text().strip() == key
    # The same key on the next start: sessions survive restarts.
    again = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "INSTANCE_PATH": str(instance)})
    assert again.config["SECRET_KEY"] == key
    assert oct((instance / "secret_key").stat().st_mode & 0o777) == "0o600"
    for made in (app, again):
        with made.app_context():
            db.engine.dispose()


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/portal.db"


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_connection_settings(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite settings only")
    with app.app_context():
        conn = db.session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2",
        "sqlite:////nonexistent-folder/portal.db",
    ],
)
def test_healthz_503_when_database_unreachable(app_factory, url, caplog):
    app = app_factory(SQLALCHEMY_DATABASE_URI=url)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}
    # The process keeps serving.
    assert client.get("/").status_code == 200


def test_pages_answer_503_when_database_fails(app):
    @app.get("/_test/db-down")
    def db_down():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    response = app.test_client().get("/_test/db-down")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)


def test_404_page_html_and_json(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_405_has_allow_header(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_413_for_oversized_body(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1000)
    response = app.test_client().post("/auth/login", data={"email": "x" * 5000, "password": "y"})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_500_shows_incident_id_and_no_traceback(app, caplog):
    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        response = app.test_client().get("/_test/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in body and "secret internal detail" not in body
    incident = re.search(r"<code>([0-9a-f]{12})</code>", body).group(1)
    assert any(incident in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("code", [400, 403, 404, 405, 409, 413, 429, 500, 503])
def test_every_error_page_renders(app, code):
    @app.get(f"/_test/abort{code}")
    def raiser():
        abort(code)

    response = app.test_client().get(f"/_test/abort{code}")
    assert response.status_code == code
    body = response.get_data(as_text=True)
    assert "<h1>" in body and "Traceback" not in body


def _assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_security_headers_on_200_404_500(app):
    @app.get("/_test/fail")
    def fail():
        raise ValueError("x")

    client = app.test_client()
    for path, code in (("/", 200), ("/missing", 404), ("/_test/fail", 500), ("/healthz", 200)):
        response = client.get(path)
        assert response.status_code == code
        _assert_security_headers(response)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://portal.test")
    assert "max-age" in secure.headers["Strict-Transport-Security"]


def test_logged_in_pages_are_not_stored(client, make_user):
    user = make_user()
    login(client, user)
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_csrf_rejects_post_without_token(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "a@b.c", "password": "whatever-long"})
    assert response.status_code == 400
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event.action == "access.denied" and event.details["reason"] == "csrf"


def test_htmx_post_with_header_token_is_accepted(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    user = make_user()
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": user.password},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code in (302, 303, 204)


def test_denied_request_is_audited_once_by_the_hook(client, make_user, app, audit_events):
    student = make_user(Role.STUDENT)
    login(client, student)
    response = client.get("/admin/")
    assert response.status_code == 403
    with app.app_context():
        events = audit_events("access.denied")
        assert len(events) == 1
        assert events[0].actor_id == student.id
        assert events[0].path == "/admin/" and events[0].status == 403
        assert events[0].outcome == "denied"


def test_anonymous_is_sent_to_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
