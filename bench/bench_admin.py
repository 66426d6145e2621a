"""Administration at scale: a 500-student bulk issue, and the user list at 100,000 users.

    python -m bench.bench_admin [--students 500] [--users 100000] [--no-certificates]

Reports
- the time to bulk-issue level-1 licenses with pre-rendered certificates to every
  student of a class of 500 (one ``licenses.bulk`` job, run inline; goal: < 60 s);
- the admin user list with 100,000 accounts: the time of one page of
  ``GET /admin/users`` for typical filters (first page, a later keyset page, a role
  and status filter, a name search), through the whole request stack in-process,
  and the resulting pages per second of one process.

Not part of the test suite. Uses SQLite unless ``DATABASE_URL`` is set.
"""
from __future__ import annotations

import argparse
import re
import time
from datetime import UTC, date, datetime

from bench.common import Instance, timed
from tests.support.http import login

PASSWORD = "bench-password-2026"


def bulk_issue(app, students: int, certificates: bool) -> dict:
    from portal import jobs
    from portal.admin import services
    from portal.auth import services as auth
    from portal.classes import services as classes
    from portal.extensions import db
    from portal.models.catalogue import Level, Specialization
    from portal.models.klass import ClassMembership
    from portal.models.user import User

    with app.app_context():
        admin = auth.create_user("admin@bench.test", "Bench Admin", "admin", password=PASSWORD)
        coach = auth.create_user("coach@bench.test", "Bench Coach", "instructor", password=PASSWORD)
        spec = Specialization(code="PLY", name="Player", max_level=5, validity_months=24)
        spec.levels = [Level(number=n, title=f"Player level {n}") for n in range(1, 6)]
        db.session.add(spec)
        db.session.flush()
        services.set_specializations(coach, [spec.id], admin)
        klass = classes.create_class(coach, "Bench intake", spec, actor=coach)
        db.session.flush()
        rows = [{"email": f"pupil{i:05d}@bench.test", "name": f"Pupil {i:05d}", "role": "student",
                 "status": "active", "date_of_birth": date(2000, 1, 1),
                 "email_confirmed_at": datetime.now(UTC)} for i in range(students)]
        db.session.execute(db.insert(User), rows)
        ids = db.session.scalars(db.select(User.id).where(User.email.like("pupil%"))).all()
        db.session.execute(db.insert(ClassMembership), [{"class_id": klass.id, "user_id": i} for i in ids])
        job = services.start_bulk(klass, "issue", certificates, admin)
        db.session.commit()
        job_id = job.id
        start = time.perf_counter()
        jobs.run(job_id)
        elapsed = time.perf_counter() - start
        job = db.session.get(jobs.Job, job_id)
        return {"seconds": elapsed, "succeeded": job.succeeded, "failed": job.failed,
                "status": job.status}


def many_users(app, n: int) -> None:
    from portal.extensions import db
    from portal.models.user import User

    roles = ["student"] * 18 + ["instructor"]
    statuses = ["active"] * 17 + ["suspended", "pending"]
    first = ["Ada", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
    with app.app_context():
        for start in range(0, n, 5000):
            db.session.execute(db.insert(User), [
                {"email": f"user{i:06d}@scale.test", "name": f"{first[i % 12]} Person{i:06d}",
                 "role": roles[i % len(roles)], "status": statuses[i % len(statuses)]}
                for i in range(start, min(n, start + 5000))
            ])
        db.session.commit()


def user_list(app, n_calls: int) -> dict[str, tuple[float, float]]:
    client = app.test_client()

    class Admin:
        email, password = "admin@bench.test", PASSWORD

    login(client, Admin)
    first = client.get("/admin/users?sort=name").get_data(as_text=True)
    later = re.search(r'href="(/admin/users\?[^"]*after=[^"]*)"', first).group(1).replace("&amp;", "&")
    urls = {
        "first page, by name": "/admin/users?sort=name",
        "next page (keyset)": later,
        "newest first": "/admin/users?sort=newest",
        "role=instructor&status=suspended": "/admin/users?role=instructor&status=suspended",
        "search 'person0421'": "/admin/users?q=person0421",
        "search by e-mail": "/admin/users?q=user099999@scale.test",
        "htmx partial, role=student": "/admin/users?role=student",
    }
    results = {}
    for label, url in urls.items():
        headers = {"HX-Request": "true"} if "htmx" in label else {}

        def call(url=url, headers=headers):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)

        call()
        results[label] = timed(call, n_calls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--no-certificates", action="store_true")
    args = parser.parse_args()

    instance = Instance()
    try:
        app = instance.app(RATELIMIT_ENABLED=False, JOBS_INLINE=True)
        import logging

        logging.getLogger("weasyprint").setLevel(logging.WARNING)
        logging.getLogger("fontTools").setLevel(logging.WARNING)
        result = bulk_issue(app, args.students, not args.no_certificates)
        per = 1000 * result["seconds"] / max(1, args.students)
        goal = "meets" if result["seconds"] < 60 else "MISSES"
        print(f"bulk issue, {args.students} students, certificates "
              f"{'off' if args.no_certificates else 'on'}: {result['seconds']:.1f} s "
              f"({per:.0f} ms per student; {result['succeeded']} issued, {result['failed']} failed) "
              f"— {goal} the 60 s goal")

        start = time.perf_counter()
        many_users(app, args.users)
        took = time.perf_counter() - start
        print(f"\nadmin user list with {args.users:,} more users (inserted in {took:.1f} s):")
        for label, (median, p95) in user_list(app, args.calls).items():
            print(f"  {label:<36} median {median:7.1f} ms   p95 {p95:7.1f} ms"
                  f"   ≈ {1000 / median:6.0f} pages/s")
    finally:
        instance.cleanup()


if __name__ == "__main__":
    main()
