"""A real Portal server for browser, race and load tests, and clients to talk to it.

``live_server`` starts gunicorn (several worker processes) or, for one process, the
same command with one worker, on a free loopback port against the test's database,
and stops it afterwards. A server a browser talks to has threads (``threads=``): a sync
worker waits, up to its timeout, on a connection that sends nothing, and Chromium opens
such connections ahead of need (preconnect), so a click could hang for a minute. The
server shares the test's instance folder, so keys, the outbox and the certificate cache
are the same files the test can read.

``HttpClient`` is a small cookie-keeping HTTP client (stdlib only) with CSRF handling
and a real login through the form; ``together`` fires calls at the same instant.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.audit import chain
from portal.extensions import db
from tests.support.logs import add_secret, find_leaks

ROOT = Path(__file__).resolve().parents[2]
# Import the app once in the master process: four workers start in seconds, not tens.
PRELOAD = "--preload"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Threads of each worker of a server a browser talks to (see the module's docstring).
BROWSER_THREADS = 4

# The live server's secret key: a link signed for it (an invitation's) is made with it.
LIVE_SECRET_KEY = "live-test-secret-key"


@dataclass
class LiveServer:
    database_url: str
    instance_path: Path
    workers: int = 2
    threads: int = 1  # more than one: gunicorn's gthread worker, which parks idle connections
    env: dict[str, str] = field(default_factory=dict)
    app: str = "wsgi:app"  # or a test module's app, e.g. tests.support.faults:app
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> LiveServer:
        self.port = self.port or free_port()
        self.instance_path.mkdir(parents=True, exist_ok=True)
        self.log_path = self.instance_path / f"server-{self.port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "PORTAL_INSTANCE_PATH": str(self.instance_path),
            "SECRET_KEY": LIVE_SECRET_KEY,
            "PORTAL_BASE_URL": self.url,
            "PORTAL_ARGON2_TIME_COST": "1",
            "PORTAL_ARGON2_MEMORY_COST": "1024",
            "PORTAL_RATELIMIT_ENABLED": "0",
            # As in TEST_SETTINGS: the test's app and the server read the same secrets.
            "PORTAL_ADMIN_2FA_REQUIRED": "0",
            "PORTAL_TOTP_KEY": "test-totp-key-not-for-production",
            **self.env,
        }
        if "REDIS_URL" not in self.env:
            env.pop("REDIS_URL", None)  # no Redis unless the test asks for it
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            *(("--worker-class", "gthread", "--threads", str(self.threads)) if self.threads > 1
              else ("--worker-class", "sync")),
            "--timeout", "60",
            "--graceful-timeout", "5",
            "--log-level", "warning",
            self.app,
        ]
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def live_server(db_url, tmp_path):
    """Start a real gunicorn server on this test's database: ``live_server(workers=4)``."""
    started = []

    def start(workers: int = 2, app: str = "wsgi:app", threads: int = 1, **env: str) -> LiveServer:
        server = LiveServer(db_url, tmp_path / "instance", workers=workers, threads=threads, env=env,
                            app=app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


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

    def __init__(self, base_url: str, timeout: float = 60, jar: http.cookiejar.CookieJar | None = None):
        self.base = base_url.rstrip("/")
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()  # shared: the same browser
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


# --- many clients at once ---------------------------------------------------------------


def together(calls):
    """Run the callables in threads, released at the same instant; returns their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(i, call):
        try:
            barrier.wait(timeout=60)
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def assert_server_healthy(server, replies):
    statuses = Counter(r.status for r in replies)
    assert not [s for s in statuses if s >= 500], statuses
    log = server.log()
    assert "database is locked" not in log
    assert "Traceback" not in log, log[-3000:]
    assert "incident" not in log, log[-3000:]
    assert not find_leaks(log.splitlines()), "secrets in the server log"


def assert_chain_intact(app):
    with app.app_context():
        result = chain.verify(db.session)
        assert result.ok, result.summary()
        return result


def sessions_for(server, user, n: int) -> list[HttpClient]:
    """``n`` separate logged-in sessions of one user (logging in concurrently, too)."""
    clients = [HttpClient(server.url) for _ in range(n)]
    together([lambda c=c: c.login(user.email, user.password) for c in clients])
    return clients
