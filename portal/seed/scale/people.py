"""Scale accounts (students, instructors, admins; one shared password), classes and the
specializations their instructors teach."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from portal.auth.passwords import hash_password
from portal.classes.services import new_join_code
from portal.extensions import db
from portal.models.klass import InstructorSpecialization, Klass
from portal.models.user import Role, User, UserStatus
from portal.seed.scale.base import DOMAIN, FIRST, LAST, PASSWORD, SEASONS, Builder, email, insert


def accounts(b: Builder) -> None:
    rng, size, now = b.rng, b.size, b.now
    password_hash = hash_password(PASSWORD)  # once, shared by every scale account
    today = now.date()
    rows = []

    def person(kind: str, number: int, role: str, dob: date, status: str = UserStatus.ACTIVE,
               consent: bool = False) -> dict:
        created = now - timedelta(days=rng.uniform(1, 720), seconds=rng.randrange(86400))
        return {
            "email": email(kind, number),
            "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "password_hash": password_hash if status != UserStatus.PENDING else None,
            "role": role, "status": status, "date_of_birth": dob,
            "guardian_consent_at": created if consent else None,
            "guardian_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}" if consent else None,
            "timezone": "UTC",
            "password_changed_at": created if status != UserStatus.PENDING else None,
            # Pending scale accounts are the ones an admin made, waiting for their link.
            "email_confirmed_at": created if status != UserStatus.PENDING else None,
            "last_login_at": (now - timedelta(hours=rng.uniform(1, 2000)))
            if status == UserStatus.ACTIVE else None,
            "created_at": created, "updated_at": created,
        }

    def birthday(age: int) -> date:
        return date(today.year - age - 1, 1, 1) + timedelta(days=rng.randrange(365))

    for i in range(1, size.admins + 1):
        rows.append(person("admin", i, Role.ADMIN, birthday(rng.randint(30, 55))))
    insert(User, rows)
    b.admins = list(db.session.scalars(
        sa.select(User.id).where(User.email.in_([r["email"] for r in rows])).order_by(User.id)
    ))
    for i in range(1, size.instructors + 1):
        rows.append(person("instructor", i, Role.INSTRUCTOR, birthday(rng.randint(24, 60))))
    for i in range(1, size.students + 1):
        # Mostly 16 to 25, some younger with a guardian's consent, some older.
        age = min(60, max(12, int(rng.gauss(20, 5))))
        roll = rng.random()
        status = (UserStatus.SUSPENDED if roll < 0.01
                  else UserStatus.PENDING if roll < 0.03 else UserStatus.ACTIVE)
        if i == 1:  # the benchmarks log in as student 1: an adult with licenses
            age, status = 24, UserStatus.ACTIVE
        row = person("student", i, Role.STUDENT, birthday(age), status, consent=age < 18)
        row["guardian_consent_by_id"] = b.admins[0] if age < 18 else None
        rows.append(row)
    for row in rows:
        row.setdefault("guardian_consent_by_id", None)
    insert(User, rows[size.admins :])
    db.session.commit()

    ids = dict(db.session.execute(
        sa.select(User.email, User.id).where(User.email.like(f"%@{DOMAIN}"))
    ).all())
    b.instructors = [ids[email("instructor", i)] for i in range(1, size.instructors + 1)]
    b.students = []  # (id, name, age, status)
    for row in rows[size.admins + size.instructors :]:
        dob = row["date_of_birth"]
        age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        b.students.append((ids[row["email"]], row["name"], age, row["status"]))
    b.names = {ids[row["email"]]: row["name"] for row in rows}
    b.emails = {ids[row["email"]]: row["email"] for row in rows}
    b.counts["users"] = len(rows)
    b.echo(f"  {len(rows):,} accounts ({size.students:,} students, "
              f"{size.instructors:,} instructors, {size.admins} admins)")


def classes(b: Builder) -> None:
    rng, now = b.rng, b.now
    taken = set(db.session.scalars(sa.select(Klass.join_code)))
    rows = []
    for i in range(b.size.classes):
        spec = rng.choices(b.specs, weights=b.spec_weights)[0]
        code = new_join_code(spec)
        while code in taken:
            code = new_join_code(spec)
        taken.add(code)
        created = now - timedelta(days=rng.uniform(5, 400))
        rows.append({
            "name": f"{spec.name} {SEASONS[i % 4]} group {i // 4 + 1}",
            "description": f"{spec.name} training, {rng.choice(('weekday', 'evening', 'weekend'))} "
                           "sessions.",
            "specialization_id": spec.id,
            "instructor_id": b.instructors[i % len(b.instructors)],
            "join_code": code,
            "archived_at": created + timedelta(days=120)
            if len(rows) >= 20 and created < now - timedelta(days=130) and rng.random() < 0.08
            else None,
            "created_at": created,
        })
    insert(Klass, rows)
    # Each instructor teaches the specializations of their classes (as an admin assigned).
    taught = sorted({(r["instructor_id"], r["specialization_id"]) for r in rows})
    insert(InstructorSpecialization, [
        {"user_id": user_id, "specialization_id": spec_id, "assigned_at": now - timedelta(days=400),
         "assigned_by_id": b.admins[0]}
        for user_id, spec_id in taught
    ])
    db.session.commit()
    b.klasses = db.session.execute(
        sa.select(Klass.id, Klass.specialization_id, Klass.instructor_id, Klass.archived_at)
        .where(Klass.instructor_id.in_(b.instructors))
    ).all()
    b.counts["classes"] = len(rows)
    b.echo(f"  {len(rows):,} classes")
