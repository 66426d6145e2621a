"""Shared helpers for the security and reliability suites.

- ``log_sink``: every log record of the session (from the security and reliability
  tests, plus the log files of the live servers they start) is kept and scanned at
  the end for passwords, reset tokens and session cookies.
- ``known_secrets``: tests add what must never be logged (passwords they typed,
  cookie values, reset links they received).
- ``HttpClient``: a small cookie-keeping HTTP client (stdlib only) for the live
  gunicorn server, with CSRF handling and a real login through the form.
"""
from __future__ import annotations

import http.cookiejar
import logging
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest

from tests.factories import PASSWORD

# Patterns that must never appear in a log line, whatever the test.
SECRET_PATTERNS = [
    re.compile(r"reset-password/[A-Za-z0-9_.\-]{20,}"),
    re.compile(r"portal_session=[A-Za-z0-9_.\-]{10,}"),
    re.compile(r"portal_remember=[A-Za-z0-9_.\-|]{10,}"),
]

_secrets: set[str] = {PASSWORD}
_secrets_lock = threading.Lock()


def add_secret(value: str | None) -> None:
    """Remember a value that must never show up in any log."""
    if value and len(value) >= 8:
        with _secrets_lock:
            _secrets.add(value)


def secrets_snapshot() -> set[str]:
    with _secrets_lock:
        return set(_secrets)


def find_leaks(lines: list[str]) -> list[str]:
    """The log lines that contain a known secret or a secret-looking pattern."""
    known = secrets_snapshot()
    leaks = []
    for line in lines:
        if any(secret in line for secret in known) or any(p.search(line) for p in SECRET_PATTERNS):
            leaks.append(line[:300])
    return leaks


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a broken record is still worth a line
            text = repr(record.msg)
        self.lines.append(text)


@dataclass
class LogSink:
    handler: _ListHandler
    extra_files: list = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = list(self.handler.lines)
        for path in self.extra_files:
            try:
                lines.extend(path.read_text(errors="replace").splitlines())
            except OSError:
                pass
        return lines


@pytest.fixture(scope="session")
def log_sink():
    """Capture every log record from the start of the first security/reliability test."""
    root = logging.getLogger()
    handler = _ListHandler()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    sink = LogSink(handler)
    yield sink
    root.removeHandler(handler)
    root.setLevel(old_level)
    leaks = find_leaks(sink.lines())
    assert not leaks, "secrets found in the logs:\n" + "\n".join(leaks[:20])


# --- a small HTTP client for the live server -----------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Reply:
    status: int
    headers: dict
    body: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class HttpClient:
    """One visitor with a cookie jar, talking to a live server (no redirects followed)."""

    def __init__(self, base_url: str, timeout: float = 60):
        self.base = base_url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        self.timeout = timeout
        self.csrf: str | None = None

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        if body is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                text = response.read().decode("utf-8", "replace")
                return Reply(response.status, dict(response.headers), text)
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            return Reply(exc.code, dict(exc.headers), text)

    def get(self, path: str, **kw) -> Reply:
        reply = self.request("GET", path, **kw)
        match = CSRF_RE.search(reply.body)
        if match:
            self.csrf = match.group(1)
        return reply

    def post(self, path: str, data: dict | None = None, *, form_page: str | None = None, **kw) -> Reply:
        """POST with the CSRF token of ``form_page`` (fetched first) or the last page seen."""
        if form_page:
            self.get(form_page)
        data = dict(data or {})
        if self.csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf
        return self.request("POST", path, data=data, **kw)

    def login(self, email: str, password: str) -> Reply:
        reply = self.post("/auth/login", {"email": email, "password": password}, form_page="/auth/login")
        assert reply.status in (302, 303), (reply.status, reply.body[:300])
        self.get("/dashboard")  # a fresh CSRF token for the new session
        add_secret(password)
        add_secret(self.cookie("portal_session"))
        return reply

    def cookie(self, name: str) -> str | None:
        for cookie in self.jar:
            if cookie.name == name:
                return cookie.value
        return None
