"""A bounded mixed load against gunicorn: 50 connections for 60 seconds.

Visitors verify licenses (page and JSON), open dashboards and license pages,
download certificates, and log in and out. Afterwards: no 5xx at all, nothing
in the server log, an intact audit chain, and exactly one audit event per request
that should write one (logins, logouts, certificate downloads): none lost, none
doubled.

``PORTAL_LOAD_SECONDS`` shortens (or lengthens) the run, e.g. 10 for a quick check.
"""
from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import pytest

from portal.models.user import Role
from tests.support.live import PRELOAD, HttpClient, assert_chain_intact
from tests.support.logs import find_leaks

CONNECTIONS = 50
SECONDS = float(os.environ.get("PORTAL_LOAD_SECONDS", "60"))
AUDITED = ("auth.login", "auth.logout", "license.certificate_downloaded")


@pytest.mark.slow
def test_mixed_load(app, live_server, make_user, make_specialization, make_license, make_class, join,
                    monkeypatch, audit_events):
    monkeypatch.setenv("PORTAL_RATELIMIT_ENABLED", "0")
    admin = make_user(Role.ADMIN)
    instructor = make_user(Role.INSTRUCTOR)
    spec = make_specialization()
    klass = make_class(instructor, spec)
    students = [make_user(Role.STUDENT) for _ in range(6)]
    licenses = [make_license(s, spec, actor=admin) for s in students]
    for s in students:
        join(s, klass)
    codes = [lic.code for lic in licenses]
    server = live_server(workers=4, GUNICORN_CMD_ARGS=PRELOAD)
    before = Counter(audit_events.actions())

    statuses: Counter = Counter()
    expected: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def note(reply, path, audit_action=None, ok=(200,)):
        with lock:
            statuses[reply.status] += 1
            if reply.status >= 500:
                failures.append(f"{reply.status} {path}")
            if audit_action and reply.status in ok:
                expected[audit_action] += 1

    def verifier(rng):
        client = HttpClient(server.url)
        while time.monotonic() < deadline:
            code = rng.choice(codes)
            path = f"/verify/{code}.json" if rng.random() < 0.5 else f"/verify/{code}"
            note(client.get(path), path)

    def student(rng, index):
        user, lic = students[index % len(students)], licenses[index % len(licenses)]
        while time.monotonic() < deadline:
            client = HttpClient(server.url)
            reply = client.post("/auth/login", {"email": user.email, "password": user.password},
                                form_page="/auth/login")
            note(reply, "login", "auth.login", ok=(302, 303))
            if reply.status not in (302, 303):
                continue
            note(client.get("/dashboard"), "/dashboard")  # the new session's CSRF token
            for _ in range(rng.randint(2, 5)):
                if time.monotonic() >= deadline:
                    break
                path = rng.choice(["/dashboard", f"/licenses/{lic.id}", "/licenses/",
                                   f"/licenses/{lic.id}/certificate.pdf"])
                reply = client.get(path)
                note(reply, path, "license.certificate_downloaded" if path.endswith(".pdf") else None)
            reply = client.post("/auth/logout")
            note(reply, "logout", "auth.logout", ok=(302, 303))

    def staff(rng, user):
        client = HttpClient(server.url)
        reply = client.post("/auth/login", {"email": user.email, "password": user.password},
                            form_page="/auth/login")
        note(reply, "login", "auth.login", ok=(302, 303))
        note(client.get("/dashboard"), "/dashboard")
        while time.monotonic() < deadline:
            path = rng.choice(["/dashboard", f"/dashboard/classes/{klass.id}", "/licenses/requests/"]
                              if user is instructor else ["/dashboard", "/admin/users", "/admin/licenses"])
            note(client.get(path), path)

    workers = []
    for i in range(CONNECTIONS):
        rng = random.Random(i)
        if i < 20:
            target, args = verifier, (rng,)
        elif i < 40:
            target, args = student, (rng, i)
        else:
            target, args = staff, (rng, admin if i % 2 else instructor)
        workers.append(threading.Thread(target=target, args=args, daemon=True))
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=SECONDS + 120)
    assert not any(t.is_alive() for t in workers), "clients still running after the deadline"

    total = sum(statuses.values())
    assert total > CONNECTIONS * 2, statuses
    assert not failures, failures[:20]
    assert set(statuses) <= {200, 302, 303}, statuses
    log = server.log()
    assert "database is locked" not in log and "Traceback" not in log, log[-3000:]
    assert not find_leaks(log.splitlines()), "secrets in the server log"
    after = Counter(audit_events.actions())
    for action in AUDITED:
        assert after[action] - before[action] == expected[action], (action, expected, after - before)
    assert_chain_intact(app)
    print(f"\nmixed load: {total} requests in {SECONDS:.0f}s ({total / SECONDS:.0f}/s), {dict(statuses)}, "
          f"audited {dict(expected)}")
