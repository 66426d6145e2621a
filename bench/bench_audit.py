"""The audit trail at scale: viewer filters, export, full chain check, viewer throughput.

    python -m bench.bench_audit [--events 200000] [--seconds 5] [--skip-http]

On a throw-away instance (SQLite, or the PostgreSQL database in DATABASE_URL, which
must be empty) it generates a valid chain of N events spread over 90 days, then prints:

- first-page database time of the viewer for each filter combined with a 30-day
  range (goal < 20 ms), with the query plan's first line (which index is used);
- the CSV export of every event: time and growth of the process's memory while
  streaming (goal for 1,000,000: < 60 s and < 50 MB);
- a full chain verification (goal for 1,000,000: < 30 s);
- the viewer's throughput under gunicorn as a ratio to a bare Flask "hello" app under
  the same settings (goal ≥ 0.2); needs ``wrk``.

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.common import Instance, Server, WrkResult, timed, workers_default, wrk

ACTORS = 500


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def generate(app, n: int) -> tuple[datetime, datetime]:
    from portal.extensions import db
    from portal.models.user import User
    from portal.seed import audit_events

    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=90)
    with app.app_context():
        db.session.execute(sa.insert(User.__table__), [
            {"email": f"user{i}@scale.test", "name": f"Scale User {i}", "role": "student",
             "status": "active", "timezone": "UTC",
             "created_at": start, "updated_at": start}
            for i in range(1, ACTORS + 1)
        ])
        ids = list(db.session.scalars(sa.select(User.id)))
        t0 = time.perf_counter()

        def progress(done):
            if done % 100_000 == 0:
                print(f"  … {done:,} events ({time.perf_counter() - t0:.0f} s)", flush=True)

        audit_events.generate(db.session, n, start=start, end=end, actor_ids=ids, batch=20_000,
                         progress=progress)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE audit_events")
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        print(f"generated {n:,} events in {time.perf_counter() - t0:.1f} s")
    return start, end


def explain(stmt) -> str:
    from portal.extensions import db

    dialect = db.engine.dialect.name
    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    if dialect == "postgresql":
        rows = db.session.execute(sa.text(f"EXPLAIN {compiled}")).scalars().all()
        plan = [r.strip() for r in rows if "Index" in r or "Scan" in r]
        return (plan[0] if plan else rows[0])[:110]
    rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return " | ".join(r[-1] for r in rows)[:110]


def filter_times(app, start, end, rounds: int) -> None:
    from portal.audit import queries
    from portal.audit.queries import AuditFilter
    from portal.extensions import db
    from portal.models.audit import AuditEvent

    since = end - timedelta(days=30)
    with app.app_context():
        some = db.session.execute(
            sa.select(AuditEvent.ip, AuditEvent.resource_id).where(AuditEvent.at >= since).limit(1)
        ).first()
        cases = {
            "date range only": AuditFilter(),
            "actor (e-mail)": AuditFilter(actor="user42@scale.test"),
            "actor (name part)": AuditFilter(actor="scale user 42"),
            "action": AuditFilter(actions=["license.issued"]),
            "two actions": AuditFilter(actions=["license.issued", "auth.lockout"]),
            "resource": AuditFilter(resource_type="user", resource_id=some.resource_id),
            "ip exact": AuditFilter(ip=some.ip),
            "ip /16": AuditFilter(ip=".".join(some.ip.split(".")[:2]) + ".0.0/16"),
            "ip /8": AuditFilter(ip="10.0.0.0/8"),
            "outcome denied": AuditFilter(outcome="denied"),
            "actor+action": AuditFilter(actor="user42@scale.test", actions=["auth.login"]),
        }
        print(f"\nfirst page ({queries.PAGE_SIZE} rows), each filter + the last 30 days; "
              "median / p95 ms; goal < 20 ms")
        for label, flt in cases.items():
            flt.start, flt.end = since, end

            def run(flt=flt):
                page = queries.page(queries.conditions(flt))
                return page.rows

            run()
            median, p95 = timed(run, rounds)
            rows = len(run())
            stmt = (sa.select(AuditEvent).where(*queries.conditions(flt))
                    .order_by(*queries.NEWEST_FIRST).limit(queries.PAGE_SIZE + 1))
            verdict = "ok" if median < 20 else "SLOW"
            print(f"  {label:<20} {median:7.2f} / {p95:7.2f} ms  {rows:3d} rows  {verdict:4}  "
                  f"{explain(stmt)}")
            db.session.rollback()
        # A page deep into the log, continuing from a cursor.
        flt = AuditFilter(actions=["auth.login"])
        old = db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.at < start + timedelta(days=10))
                                .order_by(AuditEvent.at.desc()).limit(1))
        median, p95 = timed(lambda: queries.page(queries.conditions(flt), before=old), rounds)
        print(f"  {'deep page (cursor)':<20} {median:7.2f} / {p95:7.2f} ms")


def export_time(app) -> None:
    from portal.audit import export
    from portal.extensions import db

    with app.app_context():
        before = peak = rss_mb()
        t0 = time.perf_counter()
        rows = size = 0
        for chunk in export.rows([]):
            size += len(chunk)
            rows += chunk.count("\n")
            if rows % 20_000 < 2_100:
                peak = max(peak, rss_mb())
        peak = max(peak, rss_mb())
        elapsed = time.perf_counter() - t0
        db.session.rollback()
    print(f"\nexport: {rows - 1:,} rows, {size / 1e6:.0f} MB of CSV in {elapsed:.1f} s "
          f"({(rows - 1) / elapsed:,.0f} rows/s); memory growth {peak - before:.1f} MB "
          f"(goal for 1M: < 60 s, < 50 MB)")


def verify_time(app) -> None:
    from portal.audit import integrity

    with app.app_context():
        t0 = time.perf_counter()
        result = integrity.check()
        elapsed = time.perf_counter() - t0
    print(f"\nfull chain check: {result.summary()[:60]}… in {elapsed:.1f} s "
          f"({result.count / elapsed:,.0f} events/s; goal for 1M: < 30 s)")


def wrk_get(url: str, seconds: int, cookie: str, connections: int) -> WrkResult:
    return wrk(url, seconds=seconds, connections=connections, cookie=cookie)


def throughput(instance, app, seconds: int, workers: int, connections: int, rounds: int) -> None:
    from portal.auth import services
    from portal.extensions import db

    with app.app_context():
        services.create_user("admin@scale.test", "Bench Admin", "admin", password="bench-password-2026")
        db.session.commit()
    client = app.test_client()
    response = client.post("/auth/login",
                           data={"email": "admin@scale.test", "password": "bench-password-2026"})
    assert response.status_code in (302, 303), response.status_code
    cookie = f"portal_session={client.get_cookie('portal_session').value}"
    path = "/audit/?action=auth.login_failed"
    env = {**instance.env, "PORTAL_RATELIMIT_ENABLED": "0"}
    portal_rps, hello_rps = [], []
    with Server("wsgi:app", env, workers=workers) as portal, \
            Server("bench.hello_app:app", {}, workers=workers) as hello:
        wrk_get(portal.url + path, 1, cookie, connections)
        wrk_get(hello.url + "/", 1, cookie, connections)
        print(f"\nviewer throughput ({path}, gunicorn {workers} sync workers, wrk {connections} connections)")
        for i in range(rounds):
            p = wrk_get(portal.url + path, seconds, cookie, connections)
            h = wrk_get(hello.url + "/", seconds, cookie, connections)
            portal_rps.append(p.rps)
            hello_rps.append(h.rps)
            print(f"  round {i + 1}: viewer {p}")
            print(f"           hello  {h}")
            if p.non_2xx:
                print("  (the viewer answered non-2xx: is the session cookie valid?)")
    ratio = statistics.median(portal_rps) / statistics.median(hello_rps)
    print(f"  viewer / hello = {ratio:.2f} (goal ≥ 0.2) → {'ok' if ratio >= 0.2 else 'BELOW GOAL'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=20, help="timed runs per filter")
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk round")
    parser.add_argument("--http-rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=workers_default())
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-http", action="store_true", help="no gunicorn/wrk throughput run")
    args = parser.parse_args(argv)

    instance = Instance(os.environ.get("DATABASE_URL"))
    try:
        app = instance.app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
        start, end = generate(app, args.events)
        filter_times(app, start, end, args.rounds)
        export_time(app)
        verify_time(app)
        if not args.skip_http:
            throughput(instance, app, args.seconds, args.workers, args.connections, args.http_rounds)
    finally:
        instance.cleanup()


if __name__ == "__main__":
    main()
