"""Certificates and verification: how fast, compared with a bare Flask app.

    python -m bench.bench_licenses [--seconds 5] [--rounds 3] [--workers N]

Reports
- warm PDF render time: ``certificates.render`` after a first render (fonts loaded);
- cached PDF serve time: ``GET /licenses/<id>/certificate.pdf`` when the PDF is in the
  cache (the full request: login session, integrity check, audit event, commit);
- ``/verify/<code>`` throughput under gunicorn, as a ratio to ``bench/hello_app.py``
  under the same gunicorn settings, measured in alternating rounds in one run
  (goal: at least 0.5), and the portal's ``/healthz`` for scale (the cost of the
  portal's request stack: sessions, limiter, security headers, a database round trip).

Not part of the test suite. Needs ``wrk`` (Debian: ``apt-get install wrk``).
"""
from __future__ import annotations

import argparse
import statistics

from bench.common import Instance, Server, timed, workers_default, wrk

PASSWORD = "bench-password-2026"


def make_license(app):
    """An admin, a student and a signed Player license; returns (license id, code)."""
    from portal.auth import services as auth
    from portal.extensions import db
    from portal.licenses import services
    from portal.models.catalogue import Level, Specialization

    with app.app_context():
        admin = auth.create_user("admin@bench.test", "Bench Admin", "admin", password=PASSWORD)
        student = auth.create_user("student@bench.test", "Benedicte Marchetti", "student",
                                   password=PASSWORD)
        spec = Specialization(code="PLY", name="Player", max_level=8, validity_months=24)
        spec.levels = [Level(number=n, title=f"Player level {n}") for n in range(1, 9)]
        db.session.add(spec)
        license = services.issue_license(student, spec, 3, admin)
        db.session.commit()
        return license.id, license.code


def pdf_times(app, license_id: int, n: int) -> dict[str, tuple[float, float]]:
    from portal.extensions import db
    from portal.licenses import certificates
    from portal.models.license import License

    with app.test_request_context():
        license = db.session.get(License, license_id)
        certificates.render(license)  # cold: fonts, stylesheets
        render = timed(lambda: certificates.render(license), n)
        db.session.remove()

    client = app.test_client()
    # The holder downloads their own certificate (an admin must set up two-factor sign-in first).
    client.post("/auth/login", data={"email": "student@bench.test", "password": PASSWORD})
    url = f"/licenses/{license_id}/certificate.pdf"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "application/pdf", first.status_code
    cached = timed(lambda: client.get(url), n * 5)
    return {"render": render, "cached": cached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per app")
    parser.add_argument("--workers", type=int, default=workers_default(), help="gunicorn workers")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--renders", type=int, default=10, help="timed PDF renders")
    args = parser.parse_args()

    instance = Instance()
    try:
        app = instance.app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        license_id, code = make_license(app)
        times = pdf_times(app, license_id, args.renders)
        print(f"warm PDF render       median {times['render'][0]:7.1f} ms   p95 {times['render'][1]:7.1f} ms")
        print(f"cached PDF serve      median {times['cached'][0]:7.1f} ms   p95 {times['cached'][1]:7.1f} ms"
              "   (full request: session, integrity check, audit event)")

        # The verification limit stays on, set high enough not to refuse: its cost is measured.
        portal_env = {**instance.env, "PORTAL_RATELIMIT_VERIFY": "100000000 per minute",
                      "PORTAL_BASE_URL": "http://127.0.0.1"}
        portal_rps, hello_rps, floor_rps = [], [], []
        with Server("wsgi:app", portal_env, workers=args.workers) as portal, \
                Server("bench.hello_app:app", {}, workers=args.workers) as hello:
            wrk(f"{portal.url}/verify/{code}", seconds=1, connections=args.connections)  # warm-up
            wrk(f"{hello.url}/", seconds=1, connections=args.connections)
            for round_no in range(1, args.rounds + 1):
                p = wrk(f"{portal.url}/verify/{code}", args.seconds, connections=args.connections)
                h = wrk(f"{hello.url}/", args.seconds, connections=args.connections)
                f = wrk(f"{portal.url}/healthz", args.seconds, connections=args.connections)
                if p.non_2xx or p.errors:
                    raise SystemExit(f"/verify answered with errors: {p}")
                portal_rps.append(p.rps)
                hello_rps.append(h.rps)
                floor_rps.append(f.rps)
                print(f"round {round_no}  /verify/<code> {p}")
                print(f"         hello          {h}")
                print(f"         /healthz       {f}")
        ratio = statistics.median(portal_rps) / statistics.median(hello_rps)
        print(f"/verify/<code> throughput: {statistics.median(portal_rps):.0f} req/s = {ratio:.2f} × "
              f"bare Flask ({statistics.median(hello_rps):.0f} req/s); gunicorn {args.workers} sync "
              f"workers, wrk {args.connections} connections; goal ≥ 0.5 → "
              f"{'met' if ratio >= 0.5 else 'NOT met'}")
        floor = statistics.median(floor_rps) / statistics.median(hello_rps)
        print(f"for scale: the portal's /healthz (one SELECT 1, no template) = {floor:.2f} × bare Flask")
    finally:
        instance.cleanup()


if __name__ == "__main__":
    main()
