"""Weaker spots found by probing from outside: oversized numbers, file modes,
cookie names in production, and form bodies with very many fields."""
from __future__ import annotations

import os
import stat
import time

import pytest

from portal import create_app
from portal.extensions import db
from portal.models.user import Role
from portal.signing import current_key_id
from tests.support.http import login

HUGE_IDS = ["2147483648", str(2**63), str(2**64 + 1), "1" + "0" * 30, "9" * 5000]


@pytest.mark.parametrize("number", HUGE_IDS, ids=lambda n: f"{len(n)}digits")
def test_route_ids_beyond_any_row_are_404(client, login_as, number):
    login_as(Role.ADMIN)
    for path in (f"/licenses/{number}", f"/audit/events/{number}", f"/admin/users/{number}",
                 f"/dashboard/classes/{number}"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)


@pytest.mark.parametrize("value", ["999999999999999999", "2147483648", str(2**64), "²", "-1"])
def test_out_of_range_audit_cursors_are_ignored(client, login_as, value):
    login_as(Role.ADMIN)
    for name in ("before", "after"):
        response = client.get(f"/audit/?{name}={value}")
        assert response.status_code == 200, (name, value, response.status_code)


def test_huge_page_number_is_not_a_500(client, login_as, make_specialization, make_class):
    instructor = login_as(Role.INSTRUCTOR)
    klass = make_class(instructor, make_specialization())
    for value in ("99999999999999999999999", "²"):
        assert client.get(f"/dashboard/classes/{klass.id}?page={value}").status_code in (200, 404)


@pytest.mark.parametrize("value", ["¹", "1234567890123456", str(2**64)])
def test_numbers_in_forms_are_range_checked(client, login_as, value):
    login_as(Role.STUDENT)
    response = client.post("/licenses/select-specialization", data={"specialization": value})
    assert response.status_code in (200, 422), response.status_code


def test_requirement_ids_in_a_form_are_range_checked(client, login_as, make_specialization, make_class,
                                                     make_user, join):
    instructor = login_as(Role.INSTRUCTOR)
    klass = make_class(instructor, make_specialization())
    student = make_user(Role.STUDENT)
    join(student, klass)
    response = client.post(f"/dashboard/classes/{klass.id}/students/{student.id}/requirements",
                           data={"requirement": ["²", str(2**64)], "shown": ["³"]})
    assert response.status_code < 500, response.status_code


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_files_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PORTAL_KEY_DIR", raising=False)
    instance = tmp_path / "instance"
    old = os.umask(0o022)  # the usual umask, whatever the runner's is
    try:
        app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True})
        with app.app_context():
            with db.engine.connect() as conn:
                conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
                conn.commit()
            kid = current_key_id()
            db.engine.dispose()
    finally:
        os.umask(old)
    assert _mode(instance) == 0o700
    assert _mode(instance / "portal.db") == 0o600
    assert _mode(instance / "secret_key") == 0o600
    keys = instance / "keys"
    assert _mode(keys) == 0o700
    assert _mode(keys / f"{kid}.pem") == 0o600


def test_production_cookies_use_the_host_prefix(app_factory, make_user, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    app = app_factory()
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-portal_session"
    assert app.config["REMEMBER_COOKIE_NAME"] == "__Host-portal_remember"
    client = app.test_client()
    user = make_user(Role.STUDENT)
    response = login(client, user, remember=True)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-")]
    assert {c.split("=", 1)[0] for c in cookies} == {"__Host-portal_session", "__Host-portal_remember"}
    for cookie in cookies:
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert client.get("/dashboard").status_code == 200  # the renamed cookies log in


def test_development_cookie_names_are_plain(app):
    assert app.config["SESSION_COOKIE_NAME"] == "portal_session"
    assert app.config["REMEMBER_COOKIE_NAME"] == "portal_remember"


def test_a_form_with_very_many_fields_is_refused_cheaply(client):
    body = "&".join(f"f{i}=x" for i in range(100_000))[: 1024 * 1024 - 1]
    started = time.process_time()
    response = client.post("/auth/login", data=body, content_type="application/x-www-form-urlencoded")
    elapsed = time.process_time() - started
    assert response.status_code == 413
    assert elapsed < 0.3, f"{elapsed:.2f}s of CPU for a refused form"


def test_a_multipart_form_with_very_many_parts_is_refused(client):
    part = '--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nx\r\n'
    body = (part * 5_000 + "--b--\r\n").encode()
    response = client.post("/auth/login", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413


def test_an_ordinary_form_still_works(client, make_user):
    user = make_user(Role.STUDENT)
    response = client.post("/auth/login", data={"email": user.email, "password": user.password})
    assert response.status_code in (302, 303)
