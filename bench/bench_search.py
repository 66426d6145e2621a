"""Search at scale: the admin user search and the audit viewer's actor filters.

    python -m bench.bench_search [--students 100000] [--audit-events 1000000] [--rounds 30]
    python -m bench.bench_search --instance DIR --database-url URL   # an academy seeded before

Seeds a throw-away academy with ``seed scale`` (SQLite in a temporary folder, or the empty
PostgreSQL database in BENCH_DATABASE_URL), then prints, in-process, the median and 95th
percentile of:

- the user list's first page for searches by part of a name or an address (goal < 20 ms
  at 100,000 users), with the query plan's lines that name an index or a scan;
- the audit viewer's first page for the actor filters, last 30 days (goal < 20 ms of
  database time on 1,000,000 events).

Each line: median / p95 wall time, the median CPU time of this process, rows, the plan.

Not part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.common import ROOT, Instance


def timed(fn, n: int) -> tuple[float, float, float]:
    """Median and 95th percentile of the wall time of ``n`` calls, and the median of this
    process's CPU time (on SQLite the database's work is in it; on a loaded machine the
    wall time is mostly waiting for a core), in milliseconds."""
    wall, cpu = [], []
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    wall.sort()
    return statistics.median(wall), wall[min(n - 1, int(n * 0.95))], statistics.median(cpu)


def explain(stmt) -> str:
    from portal.extensions import db

    compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        rows = [r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)]
        plan = [r.strip() for r in rows if "Index" in r or "Scan" in r]
        return " | ".join(plan)[:150]
    params = tuple(compiled.params[k] for k in compiled.positiontup)
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
    return " | ".join(r[-1] for r in rows)[:150]


def user_search(app, rounds: int) -> None:
    from portal.admin import queries
    from portal.extensions import db
    from portal.models.user import User
    from portal.seed import scale

    cases = {
        "family name 'okafor'": "okafor",
        "name part 'kafo'": "kafo",
        "given + family 'a okafor'": "a okafor",
        "whole e-mail": scale.email("student", 4242),
        "e-mail part 'dent04242'": "dent04242",
        "no match 'zzqx'": "zzqx",
        "2 letters 'ok' (no index)": "ok",
        "1 letter 'q' (no index)": "q",
    }
    with app.test_request_context("/admin/users"):  # a GET: a reader's transaction, as in a request
        total = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        print(f"\nuser search, first page ({queries.PAGE_SIZE} rows) of /admin/users?q=… "
              f"over {total:,} users; median / p95 ms; goal < 20 ms")
        for label, text in cases.items():
            def run(text=text):
                return queries.users_page(q=text).rows

            run()
            median, p95, cpu = timed(run, rounds)
            rows = len(run())
            stmt = sa.select(User).where(*queries._user_contains(text)).order_by(User.name).limit(26)
            verdict = "ok" if median < 20 else "SLOW"
            print(f"  {label:<28} {median:7.2f} / {p95:7.2f} ms  cpu {cpu:6.2f} ms  "
                  f"{rows:3d} rows  {verdict:4}  "
                  f"{explain(stmt)}")
            db.session.rollback()


def actor_filters(app, rounds: int) -> None:
    from portal.audit import queries
    from portal.audit.queries import AuditFilter
    from portal.extensions import db
    from portal.models.audit import AuditEvent
    from portal.seed import scale

    with app.test_request_context("/audit/"):
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        # The last 30 days of the events there are (the viewer's default range on a live
        # trail; also right for an academy whose seeding was stopped part way).
        newest = db.session.scalar(sa.select(sa.func.max(AuditEvent.at)))
        end = (newest or datetime.now(UTC)) + timedelta(seconds=1)
        since = end - timedelta(days=30)
        cases = {
            "no filter": AuditFilter(),
            "actor (e-mail)": AuditFilter(actor=scale.email("student", 1)),
            "actor (name part)": AuditFilter(actor="okafor"),
            "actor (rare name part)": AuditFilter(actor="dent04242"),
            "actor + action": AuditFilter(actor=scale.email("admin", 1), actions=["user.updated"]),
            "actor (gone: label)": AuditFilter(actor="nobody@gone.test"),
        }
        print(f"\naudit viewer first page ({queries.PAGE_SIZE} rows) over {total:,} events, "
              "their last 30 days; median / p95 ms; goal < 20 ms")
        for label, flt in cases.items():
            flt.start, flt.end = since, end

            def run(flt=flt):
                return queries.page(queries.conditions(flt)).rows

            try:
                run()
            except queries.FilterError as exc:
                print(f"  {label:<24} refused: {exc}")
                db.session.rollback()
                continue
            median, p95, cpu = timed(run, rounds)
            rows = len(run())
            stmt = (sa.select(AuditEvent).where(*queries.conditions(flt))
                    .order_by(*queries.NEWEST_FIRST).limit(queries.PAGE_SIZE + 1))
            verdict = "ok" if median < 20 else "SLOW"
            print(f"  {label:<24} {median:7.2f} / {p95:7.2f} ms  cpu {cpu:6.2f} ms  "
                  f"{rows:3d} rows  {verdict:4}  "
                  f"{explain(stmt)}")
            db.session.rollback()


def before(app) -> None:
    from portal import search
    from portal.audit import queries
    from portal.extensions import db

    search.narrowing = lambda *args, **kwargs: None
    queries.MAX_ACTORS = 200
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("DROP INDEX ix_users_name_trgm, ix_users_email_trgm"))
            db.session.commit()


def after(app) -> None:
    from portal.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            for name, column in (("ix_users_name_trgm", "name"), ("ix_users_email_trgm", "email")):
                db.session.execute(sa.text(f"CREATE INDEX {name} ON users USING gin ({column} gin_trgm_ops)"))
            db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--audit-events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", help="an academy seeded before (kept as it is)")
    parser.add_argument("--instance", help="the instance folder of that academy")
    parser.add_argument("--only", choices=["users", "audit"], help="time one part only")
    parser.add_argument("--before", action="store_true",
                        help="as before the search index: plain LIKE, 200 actors at most "
                             "(on PostgreSQL the trigram indexes are dropped and made again after)")
    args = parser.parse_args()

    with open("/proc/loadavg") as fh:
        print(f"load average at the start: {' '.join(fh.read().split()[:3])}")
    if args.database_url:
        instance = Instance.__new__(Instance)
        instance.path = Path(args.instance)
        instance.database_url = args.database_url
        instance.env = {"DATABASE_URL": args.database_url, "SECRET_KEY": "bench-secret-key",
                        "PORTAL_INSTANCE_PATH": args.instance}
        fresh = False
    else:
        instance = Instance(os.environ.get("BENCH_DATABASE_URL") or None)
        fresh = True
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "seed", "scale",
             "--students", str(args.students), "--audit-events", str(args.audit_events)],
            cwd=ROOT, env={**os.environ, **instance.env}, check=True, capture_output=True, timeout=7200,
        )
        print(f"seed scale: {args.students:,} students, {args.audit_events:,} events in "
              f"{time.perf_counter() - start:.0f} s")
    try:
        app = instance.app()
        if args.before:
            before(app)
        if args.only != "audit":
            user_search(app, args.rounds)
        if args.only != "users":
            actor_filters(app, args.rounds)
        if args.before:
            after(app)
    finally:
        if fresh:
            instance.cleanup()
    with open("/proc/loadavg") as fh:
        print(f"load average at the end: {' '.join(fh.read().split()[:3])}")


if __name__ == "__main__":
    main()
