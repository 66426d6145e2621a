"""Notifications at scale: what notifying every student of a 500-license bulk job adds,
and the list page and unread count with 100,000 users × 50 notifications.

    python -m bench.bench_notifications [--students 500] [--rounds 3]
        [--users 100000] [--per-user 50] [--calls 30] [--wrk]

1. The bulk issuance (no certificates, so the difference is the notifications' own cost)
   on fresh databases, alternately as it is (each student gets a ``license_issued``
   notification and an e-mail delivery row in the item's transaction) and with
   ``notify`` turned into a no-op, ``--rounds`` times each: the median extra wall time
   and the extra CPU time of the process. The mail itself is sent later by the job queue
   and is not part of the job: hand-overs are counted, not sent. Goal: at most a few
   seconds (5 s) for 500 students.
2. ``--users`` accounts with ``--per-user`` notifications each (``fill``: bulk inserts,
   scattered through the table as they would be after months of use), then for one of
   them: the database time of the unread count, of the first page and of a later keyset
   page (median and p95 in ms), whether each query uses an index, and the whole
   requests in-process. ``--wrk``: the two list pages and the count under wrk against
   gunicorn, beside the bare hello app (goal as for the student dashboard: ratio ≥ 0.3,
   p99 < 250 ms at 50 connections).

Uses a temporary SQLite database, or PostgreSQL with ``BENCH_DATABASE_URL`` (an empty
database; its tables are dropped and made again). Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

from bench.bench_admin import PASSWORD, bulk_issue
from bench.common import Instance, timed
from tests.support.http import login

# -- 1. the bulk job ------------------------------------------------------------------------


def bulk_seconds(students: int, notifications: bool) -> tuple[float, float, int]:
    """One bulk issuance on a fresh SQLite database: (wall s, CPU s of this process,
    mails handed to the queue)."""
    instance = Instance(None)
    try:
        app = instance.app(RATELIMIT_ENABLED=False, JOBS_INLINE=True)
        handed = []
        with mock.patch("portal.jobs.submit", lambda task, *args: handed.append(args) or "counted"):
            patches = [] if notifications else [mock.patch("portal.licenses.services.notify")]
            for p in patches:
                p.start()
            try:
                # bulk_issue makes the students; their addresses count as confirmed, so
                # each notification also gets its mail delivery row.
                cpu = time.process_time()
                with mock.patch("portal.admin.services.start_bulk", _start_after_confirming(app)):
                    result = bulk_issue(app, students, False)
                cpu = time.process_time() - cpu
            finally:
                for p in patches:
                    p.stop()
        assert result["succeeded"] == students, result
        return result["seconds"], cpu, sum(len(ids) for (ids,) in handed)
    finally:
        instance.cleanup()


def bulk_extra(students: int, rounds: int) -> dict:
    """Alternate with and without notifications ``rounds`` times each (the machine's
    load drifts; alternating spreads it over both): medians and the extra they make."""
    runs = {True: [], False: []}
    handed = 0
    for _ in range(rounds):
        for notifications in (True, False):
            wall, cpu, count = bulk_seconds(students, notifications)
            runs[notifications].append((wall, cpu))
            handed = max(handed, count)
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in runs.items()}
    return {"with_s": med[True][0], "without_s": med[False][0], "extra_s": med[True][0] - med[False][0],
            "extra_cpu_s": med[True][1] - med[False][1], "handed": handed, "rounds": rounds,
            "load": os.getloadavg()[0]}


def notify_cost(students: int) -> dict:
    """What one ``notify`` costs in a transaction that changes something anyway, measured
    apart from the rest of the bulk job (whose own time drifts with the machine's load):
    for each of ``students`` confirmed accounts one transaction that updates the account,
    every second one also notifying it (``license_issued``, with its e-mail delivery).
    Alternating per account spreads any drift over both. Medians in ms: wall, and CPU
    of this process."""
    import sqlalchemy as sa

    from portal.db import utcnow
    from portal.extensions import db
    from portal.models.notification import Category
    from portal.models.user import User
    from portal.notifications.services import notify

    instance = Instance(None)
    try:
        app = instance.app(RATELIMIT_ENABLED=False, JOBS_INLINE=True)
        with app.app_context():
            db.session.execute(db.insert(User), [
                {"email": f"pupil{i:05d}@bench.test", "name": f"Pupil {i:05d}", "role": "student",
                 "status": "active", "email_confirmed_at": utcnow()} for i in range(2 * students)])
            db.session.commit()
            ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
            samples = {True: [], False: []}
            with mock.patch("portal.jobs.submit", lambda task, *args: "counted"):
                for n, uid in enumerate(ids):
                    with_note = n % 2 == 0
                    wall, cpu = time.perf_counter(), time.process_time()
                    user = db.session.get(User, uid)
                    user.name = f"Pupil {n:05d} (changed)"
                    if with_note:
                        notify(user, Category.LICENSE_STATUS, "license_issued", license_id=n,
                               code=f"PLY-{n:06d}", specialization="Player", level=1)
                    db.session.commit()
                    samples[with_note].append(((time.perf_counter() - wall) * 1000,
                                               (time.process_time() - cpu) * 1000))
            db.session.remove()
            db.engine.dispose()
    finally:
        instance.cleanup()
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in samples.items()}
    return {"wall_ms": med[True][0] - med[False][0], "cpu_ms": med[True][1] - med[False][1],
            "base_wall_ms": med[False][0], "load": os.getloadavg()[0]}


def _start_after_confirming(app):
    from portal.admin import services
    from portal.db import utcnow
    from portal.extensions import db
    from portal.models.user import User

    original = services.start_bulk

    def start(*args, **kwargs):
        db.session.execute(db.update(User).values(email_confirmed_at=utcnow()))
        return original(*args, **kwargs)

    return start


# -- 2. the list page at scale ----------------------------------------------------------------

UNREAD = 10  # each person's newest ten are unread, the rest read
_COLUMNS = ("user_id", "category", "kind", "data", "created_at", "mail", "read_at")


def fill(app, per_user: int, user_ids: list[int] | None = None, batch: int = 100_000) -> int:
    """``per_user`` notifications for each of ``user_ids`` (default: every account), by
    bulk insert: one row per person per round, so a person's notifications lie scattered
    through the table (as months of use leave them), not side by side. The newest
    ``UNREAD`` of each are unread. SQLite: ``executemany`` in large batches; PostgreSQL:
    ``COPY``. Returns the number of rows."""
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models.user import User

    with app.app_context():
        if user_ids is None:
            user_ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
        db.session.remove()
        engine = db.engine
        data = json.dumps({"license_id": 1, "code": "PLY-BENCH-0001", "specialization": "Player",
                           "level": 1})
        start = datetime.now(UTC) - timedelta(days=per_user)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            postgres = engine.dialect.name == "postgresql"
            if not postgres:
                cursor.execute("PRAGMA cache_size = -262144")  # 256 MB for the index inserts
            for round_ in range(per_user):
                at = start + timedelta(days=round_)
                read_at = None if round_ >= per_user - UNREAD else at + timedelta(hours=1)
                if postgres:
                    with cursor.copy(f"COPY notifications ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                        for uid in user_ids:
                            copy.write_row((uid, "license_status", "license_issued", data, at, "off",
                                            read_at))
                else:
                    # The app's SQLite connections are in autocommit mode (portal.db): one
                    # explicit transaction per round, not one per row.
                    cursor.execute("BEGIN IMMEDIATE")
                    stamp = at.replace(tzinfo=None).isoformat(" ")
                    read = read_at.replace(tzinfo=None).isoformat(" ") if read_at else None
                    sql = (f"INSERT INTO notifications ({', '.join(_COLUMNS)}) "
                           "VALUES (?, 'license_status', 'license_issued', ?, ?, 'off', ?)")
                    for i in range(0, len(user_ids), batch):
                        cursor.executemany(sql, ((uid, data, stamp, read) for uid in user_ids[i:i + batch]))
                    cursor.execute("COMMIT")
                raw.commit()
            if postgres:
                cursor.execute("ANALYZE notifications")
            else:
                cursor.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    return per_user * len(user_ids)


def _explain(statement) -> str:
    """The database's plan of ``statement``, as one line of text."""
    from portal.extensions import db

    compiled = statement.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
    rows = db.session.execute(db.text(prefix + str(compiled))).all()
    return " | ".join(str(r[-1]) for r in rows)


def database_figures(app, user_id: int, calls: int) -> dict:
    """Database time of the unread count, the first page and a later keyset page of
    ``user_id``'s notifications, each with its plan."""
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models.notification import Notification
    from portal.notifications import services

    out = {}
    with app.app_context():
        first = services.page(user_id)
        before = first.next["before"] if first.next else None
        cases = {
            "unread count": (lambda: services.unread_count(user_id),
                             sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.user_id == user_id, Notification.read_at.is_(None))),
            "first page": (lambda: services.page(user_id),
                           sa.select(Notification).where(Notification.user_id == user_id)
                           .order_by(Notification.id.desc()).limit(services.PAGE_SIZE + 1)),
            "later page (keyset)": (lambda: services.page(user_id, before=before),
                                    sa.select(Notification).where(Notification.user_id == user_id,
                                                                  Notification.id < (before or 0))
                                    .order_by(Notification.id.desc()).limit(services.PAGE_SIZE + 1)),
        }
        if before is None:  # one page only: no later page to measure
            del cases["later page (keyset)"]
        for label, (fn, statement) in cases.items():
            fn()
            db.session.rollback()

            def call(fn=fn):
                fn()
                db.session.rollback()  # no identity map carried from one call to the next

            median, p95 = timed(call, calls)
            out[label] = {"median_ms": median, "p95_ms": p95, "plan": _explain(statement)}
        db.session.remove()
    return {"before": before, **out}


def request_figures(app, email: str, password: str, before: int | None, calls: int) -> dict:
    """The whole requests in-process (test client, logged in)."""
    client = app.test_client()

    class Reader:
        pass

    Reader.email, Reader.password = email, password
    login(client, Reader)
    urls = {"GET /notifications": "/notifications", "GET /notifications/count": "/notifications/count"}
    if before:
        urls["GET /notifications?before= (later page)"] = f"/notifications?before={before}"
    out = {}
    for label, url in urls.items():
        def call(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        call()
        out[label] = timed(call, calls)
    return out


def wrk_figures(instance: Instance, email: str, password: str, before: int | None,
                seconds: int = 5, rounds: int = 2, connections: int = 50) -> dict:
    """The list pages and the count under wrk against gunicorn, alternating with the
    bare hello app (as ``make bench`` does)."""
    from bench.common import Server
    from bench.run import log_in, wrk

    env = {**instance.env, "PORTAL_BASE_URL": "http://127.0.0.1",
           "PORTAL_RATELIMIT_LOGIN": "100000 per minute"}
    paths = {"/notifications": "/notifications", "/notifications/count": "/notifications/count"}
    if before:
        paths["/notifications?before= (later page)"] = f"/notifications?before={before}"
    out = {}
    with Server("wsgi:app", env) as portal, Server("bench.hello_app:app", {}) as hello:
        cookie = log_in(portal.url, email, password)
        wrk(hello.url + "/", 1, connections)
        for label, path in paths.items():
            wrk(portal.url + path, 1, connections, cookie)
            p_runs, h_runs = [], []
            for _ in range(rounds):
                p_runs.append(wrk(portal.url + path, seconds, connections, cookie))
                h_runs.append(wrk(hello.url + "/", seconds, connections))
            p_rps = statistics.median(r["rps"] for r in p_runs)
            h_rps = statistics.median(r["rps"] for r in h_runs)
            out[label] = {"ratio": p_rps / h_rps, "rps": p_rps, "hello_rps": h_rps,
                          "p99_ms": max(r["p99_ms"] for r in p_runs),
                          "errors": sum(r["errors"] for r in p_runs)}
    return out


def scale_figures(users: int, per_user: int, calls: int, with_wrk: bool) -> dict:
    from bench.bench_admin import many_users
    from portal.auth import services as auth
    from portal.extensions import db

    url = os.environ.get("BENCH_DATABASE_URL") or None
    if url:
        _empty(url)
    instance = Instance(url)
    try:
        app = instance.app(RATELIMIT_ENABLED=False, JOBS_INLINE=True)
        with app.app_context():
            reader = auth.create_user("reader@bench.test", "Bench Reader", "student", password=PASSWORD)
            db.session.commit()
            reader_id = reader.id
        start = time.perf_counter()
        many_users(app, users - 1)
        rows = fill(app, per_user)
        took = time.perf_counter() - start
        figures = {"rows": rows, "fill_s": took, "database": "PostgreSQL" if url else "SQLite"}
        figures["db"] = database_figures(app, reader_id, calls)
        before = figures["db"].pop("before")
        figures["requests"] = request_figures(app, "reader@bench.test", PASSWORD, before, calls)
        with app.app_context():
            db.engine.dispose()
        if with_wrk:
            figures["wrk"] = wrk_figures(instance, "reader@bench.test", PASSWORD, before)
        return figures
    finally:
        instance.cleanup()


def _empty(url: str) -> None:
    """Drop everything in the benchmark's PostgreSQL database (migrations make it again)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500, help="0: skip the bulk job")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=100_000, help="0: skip the list page")
    parser.add_argument("--per-user", type=int, default=50)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--wrk", action="store_true")
    args = parser.parse_args()
    if args.students:
        r = bulk_extra(args.students, args.rounds)
        goal = "meets" if r["extra_s"] <= 5 * args.students / 500 else "MISSES"
        print(f"bulk issue of {args.students} licenses (medians of {r['rounds']} alternating rounds, "
              f"load {r['load']:.1f}): {r['with_s']:.1f} s with notifications, {r['without_s']:.1f} s "
              f"without: {r['extra_s']:+.1f} s wall, {r['extra_cpu_s']:+.1f} s CPU for {args.students} "
              f"notifications ({r['handed']} mails handed to the queue) — {goal} the 5 s goal")
        c = notify_cost(args.students)
        print(f"one notify() with its e-mail delivery, in a transaction of its own change (median of "
              f"{args.students}, load {c['load']:.1f}): +{c['wall_ms']:.2f} ms wall, "
              f"+{c['cpu_ms']:.2f} ms CPU "
              f"(the change alone: {c['base_wall_ms']:.2f} ms); × {args.students} = "
              f"{c['wall_ms'] * args.students / 1000:.2f} s")
    if args.users:
        f = scale_figures(args.users, args.per_user, args.calls, args.wrk)
        print(f"\n{f['database']}: {args.users:,} users × {args.per_user} notifications = {f['rows']:,} rows "
              f"(made in {f['fill_s']:.0f} s; load {os.getloadavg()[0]:.1f}). Database time:")
        for label, v in f["db"].items():
            print(f"  {label:<24} median {v['median_ms']:6.2f} ms   p95 {v['p95_ms']:6.2f} ms   "
                  f"plan: {v['plan']}")
        print("Whole requests in-process:")
        for label, (median, p95) in f["requests"].items():
            print(f"  {label:<42} median {median:6.1f} ms   p95 {p95:6.1f} ms")
        for label, v in f.get("wrk", {}).items():
            print(f"  wrk {label:<38} {v['rps']:6.0f} req/s, hello {v['hello_rps']:6.0f}: ratio "
                  f"{v['ratio']:.2f} (goal ≥ 0.3), p99 {v['p99_ms']:.0f} ms (goal < 250), "
                  f"errors {v['errors']}")


if __name__ == "__main__":
    main()
