"""Notifications at scale: what notifying every student of a 500-license bulk job adds.

    python -m bench.bench_notifications [--students 500]

Runs the bulk issuance (no certificates, so the difference is the notifications' own
cost) twice on fresh databases: once as it is (each student gets a ``license_issued``
notification and an e-mail delivery row in the item's transaction), once with
``notify`` turned into a no-op. The mail itself is sent later by the job queue and is not
part of the job: hand-overs are counted, not sent. Goal: at most a few seconds (5 s)
for 500 students. Then the unread count and the first page of /notifications for a
user among many notifications (median and p95 in ms). Not part of the test suite.
"""
from __future__ import annotations

import argparse
import time
from unittest import mock

from bench.bench_admin import PASSWORD, bulk_issue
from bench.common import Instance, timed
from tests.support.http import login


def bulk_seconds(students: int, notifications: bool) -> tuple[float, int]:
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
                with mock.patch("portal.admin.services.start_bulk", _start_after_confirming(app)):
                    result = bulk_issue(app, students, False)
            finally:
                for p in patches:
                    p.stop()
        assert result["succeeded"] == students, result
        return result["seconds"], sum(len(ids) for (ids,) in handed)
    finally:
        instance.cleanup()


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


def list_figures(per_user: int, users: int, calls: int) -> dict[str, tuple[float, float]]:
    from portal.auth import services as auth
    from portal.db import utcnow
    from portal.extensions import db
    from portal.models.notification import Notification

    instance = Instance(None)
    try:
        app = instance.app(RATELIMIT_ENABLED=False, JOBS_INLINE=True)
        with app.app_context():
            me = auth.create_user("reader@bench.test", "Bench Reader", "instructor", password=PASSWORD)
            db.session.flush()
            ids = [me.id]
            for n in range(users - 1):
                ids.append(auth.create_user(f"other{n:05d}@bench.test", f"Other {n}", "student").id)
            now = utcnow()
            rows = [{"user_id": uid, "category": "classes", "kind": "student_joined", "mail": "off",
                     "data": {"class_name": "Bench", "student": f"Pupil {i}"}, "created_at": now,
                     "read_at": None if i % 3 else now}
                    for uid in ids for i in range(per_user)]
            for start in range(0, len(rows), 10_000):
                db.session.execute(db.insert(Notification), rows[start:start + 10_000])
            db.session.commit()
        client = app.test_client()

        class Reader:
            email, password = "reader@bench.test", PASSWORD

        login(client, Reader)

        def page():
            assert client.get("/notifications").status_code == 200

        def count():
            assert client.get("/notifications/count").status_code == 200

        page()
        return {"GET /notifications (first page)": timed(page, calls),
                "GET /notifications/count": timed(count, calls)}
    finally:
        instance.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--per-user", type=int, default=50)
    parser.add_argument("--calls", type=int, default=30)
    args = parser.parse_args()
    with_notes, handed = bulk_seconds(args.students, True)
    without, _ = bulk_seconds(args.students, False)
    extra = with_notes - without
    goal = "meets" if extra <= 5 else "MISSES"
    print(f"bulk issue of {args.students} licenses: {with_notes:.1f} s with notifications, {without:.1f} s "
          f"without: {extra:+.1f} s for {args.students} notifications ({handed} mails handed to the queue) "
          f"— {goal} the 5 s goal")
    start = time.perf_counter()
    figures = list_figures(args.per_user, args.users, args.calls)
    took = time.perf_counter() - start
    print(f"\n{args.users:,} users × {args.per_user} notifications (made in {took:.1f} s):")
    for label, (median, p95) in figures.items():
        print(f"  {label:<34} median {median:6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
