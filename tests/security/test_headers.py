"""Security headers and error pages on every kind of response.

200, 302, 404, 405, 500 and PDF responses all carry the strict CSP (with
frame-ancestors), nosniff, a Referrer-Policy; logged-in pages are never cached; no
response shows a stack trace, a server version or the debugger.
"""
from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request

import pytest

from portal.audit.chain import canonical
from portal.models.user import Role
from tests.support.http import login
from tests.support.logs import add_secret, find_leaks

LEAK_MARKERS = [
    "Traceback (most recent call last)",
    'File "/',
    "werkzeug.debug",
    "__debugger__",
    "Werkzeug Debugger",
    "sqlalchemy.exc",
    "psycopg.",
    "sqlite3.",
    "ZeroDivisionError",
]


def assert_security_headers(response, *, logged_in: bool = False):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") in {"same-origin", "no-referrer", "strict-origin-when-cross-origin"}
    assert headers.get("X-Frame-Options") == "DENY"
    server = headers.get("Server", "")
    assert not re.search(r"\d", server), f"server version leaked: {server!r}"
    assert "X-Powered-By" not in headers
    if logged_in:
        assert "no-store" in headers.get("Cache-Control", ""), (response.request.path, headers)


def assert_no_leak(response):
    body = response.get_data(as_text=True) if response.mimetype != "application/pdf" else ""
    for marker in LEAK_MARKERS:
        assert marker not in body, f"{marker!r} in {response.status_code} body"


@pytest.fixture
def crashing_app(app_factory):
    """The app in production mode (no TESTING), with one route that fails."""
    app = app_factory(TESTING=False, DEBUG=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/__crash")
    def crash():
        return 1 / 0

    return app


def test_anonymous_responses(client):
    cases = {
        "/": 200,
        "/verify": 200,
        "/healthz": 200,
        "/.well-known/portal-keys.json": 200,
        "/dashboard": 302,
        "/no/such/page": 404,
        "/verify/PLY-0000-0000-00.json": 404,
        "/static/css/portal.css": 200,
    }
    for path, status in cases.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert_security_headers(response)
        assert_no_leak(response)
        response.close()
    # 405 with its Allow header kept.
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert_security_headers(response)


def test_500_is_friendly_and_logged_with_an_incident(crashing_app, caplog):
    client = crashing_app.test_client()
    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        response = client.get("/__crash")
    assert response.status_code == 500
    assert_security_headers(response)
    assert_no_leak(response)
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body and "Incident reference" in body
    incident = re.search(r"<code>([0-9a-f]{12})</code>", body).group(1)
    # The traceback goes to the log, with the same incident id, not to the visitor.
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)
    json_response = client.get("/__crash", headers={"Accept": "application/json"})
    assert json_response.status_code == 500
    assert json_response.get_json()["status"] == 500
    assert "Traceback" not in json_response.get_data(as_text=True)


def test_logged_in_pages_are_not_cached(app, client, login_as):
    login_as(Role.STUDENT)
    for path, status in {"/dashboard": 200, "/licenses/": 200, "/": 302, "/licenses/999999": 404,
                         "/admin/": 403}.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert_security_headers(response, logged_in=True)
        assert_no_leak(response)


def test_pdf_and_qr_responses(app, client, make_user, make_specialization, make_license):
    holder = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization())

    login(client, holder)
    response = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert_security_headers(response, logged_in=True)
    assert "no-store" in response.headers["Cache-Control"]
    qr = client.get(f"/licenses/{license.id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert_security_headers(qr, logged_in=True)


def test_session_cookie_flags(app, client, make_user):
    user = make_user(Role.STUDENT)

    response = login(client, user)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("portal_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    add_secret(client.get_cookie("portal_session").value)


def test_secure_cookies_in_production(app_factory, make_user):
    app = app_factory(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    client = app.test_client()
    user = make_user(Role.STUDENT)

    response = login(client, user, remember=True)
    cookies = response.headers.getlist("Set-Cookie")
    ours = [c for c in cookies if c.startswith(("portal_session", "portal_remember"))]
    assert ours and all("Secure" in c for c in ours)


@pytest.mark.slow
def test_live_server_headers_have_no_version(live_server):
    """gunicorn in front: no version in the Server header, headers on every response."""

    server = live_server(workers=1)
    for path, status in {"/": 200, "/nope": 404, "/dashboard": 302}.items():
        opener = urllib.request.build_opener(_NoFollow())
        try:
            with opener.open(server.url + path, timeout=10) as response:
                code, headers, body = response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            code, headers, body = exc.code, exc.headers, exc.read().decode()
        assert code == status, path
        assert not re.search(r"\d", headers.get("Server", "")), headers.get("Server")
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Traceback" not in body


class _NoFollow(__import__("urllib.request").request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_representative_flows_log_no_secrets(app, client, make_user, caplog, audit_events):
    """Login (good and bad), password reset and logout, with every log record kept."""
    user = make_user(Role.STUDENT)

    with caplog.at_level(logging.DEBUG):
        client.post("/auth/login", data={"email": user.email, "password": "wrong password 123"})
        login(client, user)
        add_secret(client.get_cookie("portal_session").value)
        client.get("/dashboard")
        client.post("/auth/logout")
        client.post("/auth/forgot-password", data={"email": user.email})
        client.post("/auth/login", data={"email": "nobody@example.test", "password": "another secret pw"})
    add_secret("wrong password 123")
    add_secret("another secret pw")
    assert not find_leaks(caplog.text.splitlines())
    # Nor does the audit trail keep them (details, user agent, path).

    events = audit_events()
    assert {e.action for e in events} >= {"auth.login", "auth.login_failed", "auth.logout"}
    assert not find_leaks([canonical(e).decode() for e in events])
