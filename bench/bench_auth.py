"""Accounts: the cost of one login and of one authenticated page request.

    python -m bench.bench_auth [--rounds 30]

Runs in-process (Flask test client) on a throw-away SQLite instance (or DATABASE_URL)
with the production Argon2id parameters (OWASP minimum: m=19 MiB, t=2, p=1), and prints
wall-clock and CPU time per request:

- login: ``POST /auth/login`` (user lookup, Argon2id verify, lockout bookkeeping, new
  server-side session, audit event, commit, cookie);
- page: ``GET /auth/sessions`` with a session cookie (the per-request session check:
  token hash lookup, idle/absolute checks, user load; plus the page itself);
- session check: only the cookie-to-user step (``sessions.load_user``).

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from bench.common import Instance

PASSWORD = "bench-password-2026"
EMAIL = "student@bench.example.org"
PRODUCTION_ARGON2 = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 19456, "ARGON2_PARALLELISM": 1}


def measure(fn: Callable[[], object], rounds: int) -> dict[str, float]:
    wall, cpu = [], []
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    wall.sort()
    return {
        "wall_median": statistics.median(wall),
        "wall_p95": wall[min(len(wall) - 1, int(len(wall) * 0.95))],
        "cpu_median": statistics.median(cpu),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)

    instance = Instance()
    try:
        app = instance.app(
            WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, LOCKOUT_THRESHOLD=10**6, **PRODUCTION_ARGON2
        )
        from portal.auth import services, sessions
        from portal.extensions import db

        with app.app_context():
            services.create_user(EMAIL, "Bench Student", "student", password=PASSWORD)
            db.session.commit()

        def login():
            client = app.test_client()
            response = client.post("/auth/login", data={"email": EMAIL, "password": PASSWORD})
            assert response.status_code == 303, response.status_code
            return client

        def wrong_password():
            data = {"email": EMAIL, "password": "not it at all"}
            response = app.test_client().post("/auth/login", data=data)
            assert response.status_code == 422

        def unknown_email():
            response = app.test_client().post(
                "/auth/login", data={"email": "nobody@bench.example.org", "password": "not it at all"}
            )
            assert response.status_code == 422

        logged_in = login()

        def page():
            response = logged_in.get("/auth/sessions")
            assert response.status_code == 200, response.status_code

        # The raw session token sits inside the signed Flask session cookie.
        cookie = logged_in.get_cookie(app.config["SESSION_COOKIE_NAME"])
        with app.test_request_context(headers={"Cookie": f"{cookie.key}={cookie.value}"}):
            from flask import request

            raw = app.session_interface.open_session(app, request)["_user_id"]

        def session_check():
            with app.test_request_context():
                assert sessions.load_user(raw) is not None
                db.session.remove()

        # Warm up (imports, template compilation, connection pool).
        for fn in (page, session_check):
            fn()
        rows = [
            ("login (right password)", measure(login, args.rounds)),
            ("login (wrong password)", measure(wrong_password, args.rounds)),
            ("login (unknown e-mail)", measure(unknown_email, args.rounds)),
            ("authenticated page", measure(page, args.rounds * 3)),
            ("session check only", measure(session_check, args.rounds * 3)),
        ]
    finally:
        with app.app_context():
            db.engine.dispose()
        instance.cleanup()

    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    print(f"Accounts benchmark: {backend}, Argon2id m={PRODUCTION_ARGON2['ARGON2_MEMORY_COST']} KiB "
          f"t={PRODUCTION_ARGON2['ARGON2_TIME_COST']} p={PRODUCTION_ARGON2['ARGON2_PARALLELISM']}, "
          f"{args.rounds} rounds")
    print(f"{'operation':<26}{'wall median':>14}{'wall p95':>12}{'CPU median':>13}")
    for name, r in rows:
        print(f"{name:<26}{r['wall_median']:>11.2f} ms{r['wall_p95']:>9.2f} ms{r['cpu_median']:>10.2f} ms")


if __name__ == "__main__":
    main()
