"""Two-factor sign-in: the cost of the second step of a login.

    python -m bench.bench_two_factor [--rounds 30]

In-process (Flask test client) on a throw-away SQLite instance (or DATABASE_URL): a user
with TOTP passes the password step (not measured), then ``POST /auth/two-factor`` with a
right code is timed: the row lock, the lockout check, unsealing the secret, the code check
over the drift window, the conditional UPDATE of the last step, the session, the audit
event, the commit. Each round reads a later time step (the clock the code reads is moved
on), as a code works once. ``make bench`` reports the same figure (``second_step``).

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import time
from datetime import timedelta

from bench.common import Instance

PASSWORD = "bench-password-2026"
EMAIL = "two-factor@bench.example.org"


def second_step(app, email: str, password: str, rounds: int) -> dict[str, float]:
    """Median and p95 wall time and median CPU time of the second step, over ``rounds``."""
    from portal.auth import services, two_factor
    from portal.db import clock, utcnow
    from portal.extensions import db

    with app.app_context():
        user = services.find_user_by_email(email)
        if not two_factor.has_totp(user):
            secret = two_factor.start_enrolment(user)
            two_factor.confirm_enrolment(user, two_factor.code_at(secret, two_factor.step_at(utcnow())))
            db.session.commit()
        secret = two_factor.unseal(user.totp_secret)
        db.session.remove()
    start = utcnow() + timedelta(minutes=1)
    state = {"round": 0}

    def one():
        state["round"] += 1
        moment = start + timedelta(seconds=two_factor.STEP_SECONDS * state["round"])
        with clock(lambda: moment):
            client = app.test_client()
            first = client.post("/auth/login", data={"email": email, "password": password})
            assert first.headers["Location"].endswith("/auth/two-factor"), first.status_code
            code = two_factor.code_at(secret, two_factor.step_at(moment))
            timing.append(_timed(lambda: client.post("/auth/two-factor", data={"code": code})))

    timing: list[tuple[float, float, int]] = []
    one()  # warm-up
    timing.clear()
    for _ in range(rounds):
        one()
    assert all(status == 303 for _w, _c, status in timing), [s for _w, _c, s in timing]
    wall = sorted(w for w, _c, _s in timing)
    cpu = sorted(c for _w, c, _s in timing)
    return {"wall_median": wall[len(wall) // 2], "wall_p95": wall[min(len(wall) - 1, int(len(wall) * 0.95))],
            "cpu_median": cpu[len(cpu) // 2]}


def _timed(fn) -> tuple[float, float, int]:
    w0, c0 = time.perf_counter(), time.process_time()
    response = fn()
    return (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000, response.status_code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    instance = Instance()
    try:
        app = instance.app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False, LOCKOUT_THRESHOLD=10**6)
        from portal.auth import services
        from portal.extensions import db

        with app.app_context():
            services.create_user(EMAIL, "Bench Two-Factor", "student", password=PASSWORD)
            db.session.commit()
        r = second_step(app, EMAIL, PASSWORD, args.rounds)
    finally:
        with app.app_context():
            db.engine.dispose()
        instance.cleanup()
    print(f"Two-factor benchmark: {args.rounds} rounds")
    print(f"{'operation':<26}{'wall median':>14}{'wall p95':>12}{'CPU median':>13}")
    print(f"{'second step (TOTP code)':<26}{r['wall_median']:>11.2f} ms{r['wall_p95']:>9.2f} ms"
          f"{r['cpu_median']:>10.2f} ms")


if __name__ == "__main__":
    main()
