"""Bulk data for benchmarks: a large academy made in minutes, not hours.

``run(Size(...))`` adds, next to whatever the database already holds:

- students, instructors and a few admins (``@scale.test`` addresses, one password,
  hashed once and shared, so loading is fast and logging in works);
- classes of every specialization, each run by an instructor, with members;
- licenses across specializations and levels (skewed to the low levels), in every
  state, each with a valid hash-chained history and a signature, as the services
  would have left them; requirement confirmations for the current level;
- upgrade requests: approved ones behind every upgrade, some rejected, pending ones
  waiting in the instructors' queues, and level-1 admissions waiting for an admin;
- audit events over the past year with a skewed distribution of actors (a few very
  busy accounts, many quiet ones), actions and times (weekdays, daytime), sealed
  onto the audit chain in order so ``audit verify`` passes.

Rows are built in Python and written with bulk ``INSERT``s in batches. The data is
far too large for one transaction, so each stage commits.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal import signing
from portal.audit import actions
from portal.audit import chain as audit_chain
from portal.auth.passwords import hash_password
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import chain as license_chain
from portal.licenses import codes, state
from portal.licenses.services import REVOKE_REASONS, add_months
from portal.models.audit import AuditEvent, Outcome
from portal.models.catalogue import Level, RequirementCompletion, Specialization
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License, LicenseEvent, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import Role, User, UserStatus

DOMAIN = "scale.test"
PASSWORD = "scale-academy-2026"
BATCH = 5000

FIRST = [
    'Ada', 'Aiko', 'Amara', 'Ana', 'Ben', 'Bruno', 'Carla', 'Chen', 'Chloé', 'Dara', 'David',
    'Dmitri', 'Elif', 'Eli', 'Emma', 'Fatima', 'Felix', 'Finn', 'Gabriel', 'Hana', 'Hugo', 'Ines',
    'Ivo', 'Jana', 'Jonas', 'Jun', 'Kai', 'Karim', 'Lea', 'Leila', 'Liam', 'Lucas', 'Maya', 'Mateo',
    'Mia', 'Nadia', 'Noah', 'Nora', 'Olga', 'Omar', 'Paula', 'Pedro', 'Priya', 'Quentin', 'Rosa',
    'Sami', 'Sofía', 'Tariq', 'Tomás', 'Una', 'Vera', 'Wei', 'Xavier', 'Yara', 'Yusuf', 'Zoe',
    'Zainab', 'Björn', 'Ngozi', 'Siobhán',
]
LAST = [
    'Adeyemi', 'Andersen', 'Bauer', 'Becker', 'Costa', 'Dubois', 'Dvořák', 'Eriksson', 'Fernández',
    'Fischer', 'García', 'Haddad', 'Hansen', 'Ivanova', 'Jansen', 'Kaur', 'Kowalski', 'Kim',
    'Lindqvist', 'López', 'Martin', 'Martínez', 'Meyer', 'Moreau', 'Müller', 'Nakamura', 'Nguyen',
    'Novak', "O'Connor", 'Okafor', 'Olsen', 'Park', 'Patel', 'Petrov', 'Popescu', 'Quinn', 'Rossi',
    'Rivera', 'Santos', 'Schmidt', 'Silva', 'Singh', 'Sato', 'Tanaka', 'Torres', 'Varga', 'Wagner',
    'Wang', 'Weber', 'Yilmaz', 'Zhang', 'Zielinski', 'Abara', 'Brennan', 'Castillo', 'Demir',
    'Edwards', 'Fontaine', 'Gallagher',
]
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36",
)
SEASONS = ("Autumn", "Winter", "Spring", "Summer")


class ScaleError(Exception):
    """The scale data cannot be added (e.g. it is already there)."""


@dataclass
class Size:
    students: int
    audit_events: int
    instructors: int | None = None
    classes: int | None = None
    licenses: int | None = None
    pending: int | None = None
    admins: int = 3

    def __post_init__(self) -> None:
        # Proportional to the students: 100,000 → 200 instructors, 2,000 classes,
        # 150,000 licenses and 5,000 pending requests.
        n = self.students
        if self.instructors is None:
            self.instructors = max(1, n // 500)
        if self.classes is None:
            self.classes = max(1, n // 50)
        if self.licenses is None:
            self.licenses = n * 3 // 2
        if self.pending is None:
            self.pending = max(1, n // 20)


def email(kind: str, number: int) -> str:
    """The address of a scale account, e.g. ``email("student", 1)``: log in with PASSWORD."""
    width = {"student": 6, "instructor": 4, "admin": 1}[kind]
    return f"{kind}{number:0{width}d}@{DOMAIN}"


def has_scale_data() -> bool:
    return db.session.scalar(
        sa.select(User.id).where(User.email.like(f"%@{DOMAIN}")).limit(1)
    ) is not None


def _noop(message: str) -> None:
    pass


def _insert(model, rows: list[dict]) -> None:
    table = model.__table__
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(table), rows[start : start + BATCH])


def _zipf_cum(n: int, s: float) -> list[float]:
    """Cumulative weights 1/k^s for ranks 1..n: a few heavy users, a long quiet tail."""
    total, cum = 0.0, []
    for k in range(1, n + 1):
        total += 1.0 / k**s
        cum.append(total)
    return cum


class _Builder:
    def __init__(self, size: Size, seed: int, echo: Callable[[str], None]):
        self.size = size
        self.rng = random.Random(seed)
        self.echo = echo
        self.now = utcnow()
        self.counts: dict[str, int] = {}

    # -- catalogue --------------------------------------------------------------------

    def catalogue(self) -> None:
        specs = self._specs()
        if not specs:
            from portal.seed import SeedContext, catalogue

            catalogue.seed(SeedContext())
            db.session.commit()
            specs = self._specs()
        self.specs = [s for s in specs if s.archived_at is None]
        if not self.specs:
            raise ScaleError("Every specialization is archived; scale data needs at least one.")
        # Requirement ids per (specialization id, level number).
        self.requirements: dict[tuple[int, int], list[int]] = {
            (spec.id, level.number): [r.id for r in level.requirements]
            for spec in self.specs for level in spec.levels
        }
        # Popularity: the first specialization (Player in the demo catalogue) draws most.
        self.spec_weights = [max(1, 6 - 2 * i) for i in range(len(self.specs))]

    def _specs(self) -> list[Specialization]:
        return list(db.session.scalars(
            sa.select(Specialization)
            .options(selectinload(Specialization.levels).selectinload(Level.requirements))
            .order_by(Specialization.id)
        ))

    # -- accounts ---------------------------------------------------------------------

    def accounts(self) -> None:
        rng, size, now = self.rng, self.size, self.now
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
                "timezone": "UTC", "failed_logins": 0, "locked_until": None,
                "password_changed_at": created if status != UserStatus.PENDING else None,
                "last_login_at": (now - timedelta(hours=rng.uniform(1, 2000)))
                if status == UserStatus.ACTIVE else None,
                "created_at": created, "updated_at": created,
            }

        def birthday(age: int) -> date:
            return date(today.year - age - 1, 1, 1) + timedelta(days=rng.randrange(365))

        for i in range(1, size.admins + 1):
            rows.append(person("admin", i, Role.ADMIN, birthday(rng.randint(30, 55))))
        _insert(User, rows)
        self.admins = list(db.session.scalars(
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
            row["guardian_consent_by_id"] = self.admins[0] if age < 18 else None
            rows.append(row)
        for row in rows:
            row.setdefault("guardian_consent_by_id", None)
        _insert(User, rows[size.admins :])
        db.session.commit()

        ids = dict(db.session.execute(
            sa.select(User.email, User.id).where(User.email.like(f"%@{DOMAIN}"))
        ).all())
        self.instructors = [ids[email("instructor", i)] for i in range(1, size.instructors + 1)]
        self.students = []  # (id, name, age, status)
        for row in rows[size.admins + size.instructors :]:
            dob = row["date_of_birth"]
            age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
            self.students.append((ids[row["email"]], row["name"], age, row["status"]))
        self.names = {ids[row["email"]]: row["name"] for row in rows}
        self.emails = {ids[row["email"]]: row["email"] for row in rows}
        self.counts["users"] = len(rows)
        self.echo(f"  {len(rows):,} accounts ({size.students:,} students, "
                  f"{size.instructors:,} instructors, {size.admins} admins)")

    # -- classes ----------------------------------------------------------------------

    def classes(self) -> None:
        from portal.dashboard.services import new_join_code

        rng, now = self.rng, self.now
        taken = set(db.session.scalars(sa.select(Klass.join_code)))
        rows = []
        for i in range(self.size.classes):
            spec = rng.choices(self.specs, weights=self.spec_weights)[0]
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
                "instructor_id": self.instructors[i % len(self.instructors)],
                "join_code": code,
                "archived_at": created + timedelta(days=120)
                if len(rows) >= 20 and created < now - timedelta(days=130) and rng.random() < 0.08
                else None,
                "created_at": created,
            })
        _insert(Klass, rows)
        db.session.commit()
        self.klasses = db.session.execute(
            sa.select(Klass.id, Klass.specialization_id, Klass.instructor_id, Klass.archived_at)
            .where(Klass.instructor_id.in_(self.instructors))
        ).all()
        self.counts["classes"] = len(rows)
        self.echo(f"  {len(rows):,} classes")

    # -- licenses and their history ------------------------------------------------------

    def licenses(self) -> None:
        rng, now, size = self.rng, self.now, self.size
        by_spec: dict[int, list] = {}
        for k in self.klasses:
            if k.archived_at is None:
                by_spec.setdefault(k.specialization_id, []).append(k)
        offered = [s for s in self.specs if s.id in by_spec]
        weights = [self.spec_weights[self.specs.index(s)] for s in offered]

        # Each student studies one specialization (in a class), some two; minors are kept out
        # of specializations with a higher minimum age.
        eligible = [s for s in self.students if s[3] != UserStatus.PENDING]
        holdings: list[tuple[int, Specialization]] = []
        memberships: list[dict] = []
        self.instructor_of: dict[tuple[int, int], int] = {}  # (student, spec) → instructor
        per_student: dict[int, set[int]] = {}

        def enrol(student, spec) -> None:
            sid, _, age, _ = student
            klass = rng.choice(by_spec[spec.id])
            memberships.append({"class_id": klass.id, "user_id": sid,
                                "joined_at": now - timedelta(days=rng.uniform(1, 300))})
            self.instructor_of[(sid, spec.id)] = klass.instructor_id
            per_student.setdefault(sid, set()).add(spec.id)

        for student in eligible:
            choices = [(s, w) for s, w in zip(offered, weights, strict=True) if s.min_age <= student[2]]
            if not choices:
                continue
            spec = rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]
            enrol(student, spec)
            holdings.append((student[0], spec))
        target = min(size.licenses, len(eligible) * len(offered))
        spins = 0
        while len(holdings) < target and spins < target * 5:
            spins += 1
            student = rng.choice(eligible)
            spec = rng.choice(offered)
            if spec.id in per_student.get(student[0], ()) or spec.min_age > student[2]:
                continue
            enrol(student, spec)
            holdings.append((student[0], spec))
        holdings = holdings[: size.licenses]
        _insert(ClassMembership, _unique(memberships, ("class_id", "user_id")))
        db.session.commit()
        self.counts["memberships"] = len(memberships)

        taken = set(db.session.scalars(sa.select(License.code)))
        # Ids are given here, so each history row can name its license before anything is
        # written and the license row goes in once, signed (the sequence is moved on after).
        next_id = (db.session.scalar(sa.select(sa.func.max(License.id))) or 0) + 1
        plans, events, completions, requests = [], [], [], []
        for license_id, (holder_id, spec) in enumerate(holdings, start=next_id):
            plan = self._plan_license(holder_id, spec, taken)
            plans.append(plan)
            row = plan["row"]
            row["id"] = license_id
            prev = license_chain.GENESIS
            for seq, ev in enumerate(plan["events"], start=1):
                ev.update(license_id=license_id, seq=seq, prev_hash=prev)
                ev["hash"] = prev = license_chain.compute_hash(SimpleNamespace(**ev))
                events.append(ev)
            row["head_hash"] = prev
            fields = {
                "code": row["code"], "holder": self.names[holder_id],
                "specialization": spec.code, "specialization_name": spec.name,
                "level": row["level"], "status": row["status"],
                "issued_at": state.iso_z(row["issued_at"]), "expires_at": state.iso_z(row["expires_at"]),
                "chain_head": prev,
            }
            row["key_id"], row["signature"] = signing.sign(state.payload(fields))
            for req in plan["requests"]:
                req["license_id"] = license_id
                requests.append(req)
            completions.extend(plan["completions"])
        _insert(License, [p["row"] for p in plans])
        _move_sequence(License)
        _insert(LicenseEvent, events)
        db.session.commit()
        self.licenses_by_holder: dict[int, list[int]] = {}
        for plan in plans:
            self.licenses_by_holder.setdefault(plan["row"]["holder_id"], []).append(plan["row"]["id"])
        self.license_ids = [p["row"]["id"] for p in plans]
        self.counts["licenses"] = len(plans)
        self.counts["license_events"] = len(events)
        self.echo(f"  {len(plans):,} licenses with {len(events):,} history rows, "
                  f"{len(memberships):,} class memberships")

        # Pending requests for the next level, in the instructors' queues.
        candidates = [p for p in plans if p["row"]["status"] == LicenseStatus.ACTIVE
                      and p["row"]["level"] < p["spec"].max_level]
        rng.shuffle(candidates)
        pending = candidates[: size.pending]
        for plan in pending:
            row, spec = plan["row"], plan["spec"]
            to_level = row["level"] + 1
            requests.append({
                "user_id": row["holder_id"], "specialization_id": spec.id, "license_id": row["id"],
                "from_level": row["level"], "to_level": to_level,
                "reason": "Requirements done; ready for the next level.",
                "status": RequestStatus.PENDING,
                "created_at": now - timedelta(days=rng.uniform(0.1, 30)),
                "decided_at": None, "decided_by_id": None, "decision_note": None,
            })
            confirmer = self.instructor_of[(row["holder_id"], spec.id)]
            reqs = self.requirements.get((spec.id, to_level), [])
            for rid in reqs[: rng.randint(0, len(reqs))]:
                completions.append({"user_id": row["holder_id"], "requirement_id": rid,
                                    "confirmed_by_id": confirmer,
                                    "confirmed_at": now - timedelta(days=rng.uniform(1, 60))})
        # Some recent rejections of other licenses.
        for plan in candidates[size.pending : size.pending + size.pending // 5]:
            row, spec = plan["row"], plan["spec"]
            created = now - timedelta(days=rng.uniform(5, 200))
            requests.append({
                "user_id": row["holder_id"], "specialization_id": spec.id, "license_id": row["id"],
                "from_level": row["level"], "to_level": row["level"] + 1,
                "reason": "I would like to move up.", "status": RequestStatus.REJECTED,
                "created_at": created, "decided_at": created + timedelta(days=rng.uniform(0.5, 5)),
                "decided_by_id": self.instructor_of.get((row["holder_id"], spec.id), self.admins[0]),
                "decision_note": "Complete the remaining requirements first.",
            })
        # Admissions waiting for an admin (specializations that are not issued automatically).
        manual = [s for s in self.specs if not s.auto_issue]
        admissions = 0
        if manual:
            for sid, _, age, _status in self.rng.sample(eligible, min(len(eligible), size.pending // 10)):
                spec = rng.choice(manual)
                if spec.id in per_student.get(sid, ()) or spec.min_age > age:
                    continue
                per_student.setdefault(sid, set()).add(spec.id)
                admissions += 1
                requests.append({
                    "user_id": sid, "specialization_id": spec.id, "license_id": None,
                    "from_level": 0, "to_level": 1, "reason": "I would like to join.",
                    "status": RequestStatus.PENDING,
                    "created_at": now - timedelta(days=rng.uniform(0.1, 20)),
                    "decided_at": None, "decided_by_id": None, "decision_note": None,
                })
        _insert(UpgradeRequest, requests)
        _insert(RequirementCompletion, _unique(completions, ("user_id", "requirement_id")))
        db.session.commit()
        self.counts["requests"] = len(requests)
        self.counts["pending_requests"] = len(pending) + admissions
        self.counts["completions"] = len(completions)
        self.echo(f"  {len(requests):,} upgrade requests ({len(pending) + admissions:,} pending), "
                  f"{len(completions):,} requirement confirmations")

    def _plan_license(self, holder_id: int, spec: Specialization, taken: set[str]) -> dict:
        rng, now = self.rng, self.now
        code = codes.generate(spec.code)
        while code in taken:
            code = codes.generate(spec.code)  # 60 random bits: practically never taken
        taken.add(code)
        # Levels skewed to the bottom: each next level is half as common.
        level = 1
        while level < spec.max_level and rng.random() < 0.45:
            level += 1
        roll = rng.random()
        status = (LicenseStatus.REVOKED if roll < 0.02 else LicenseStatus.SUSPENDED if roll < 0.05
                  else LicenseStatus.EXPIRED if roll < 0.10 and spec.validity_months
                  else LicenseStatus.ACTIVE)
        months = spec.validity_months
        if status == LicenseStatus.EXPIRED:
            issued = now - timedelta(days=months * 30.5 + rng.uniform(5, 300))
        elif months:
            issued = now - timedelta(days=rng.uniform(3, months * 30.4 - 3))
        else:
            issued = now - timedelta(days=rng.uniform(3, 700))
        expires = add_months(issued, months) if months else None
        instructor = self.instructor_of[(holder_id, spec.id)]
        admin = self.admins[0]
        events = [_event("issued", 1, LicenseStatus.ACTIVE, expires, instructor if spec.auto_issue else admin,
                         issued)]
        requests, completions = [], []
        end = min(now, expires) if expires else now
        at = issued
        for to_level in range(2, level + 1):
            at = at + (end - at) * rng.uniform(0.1, 0.5)
            created = at - timedelta(days=rng.uniform(0.2, 6))
            events.append(_event("upgraded", to_level, LicenseStatus.ACTIVE, expires, instructor, at,
                                 note=None))
            requests.append({
                "user_id": holder_id, "specialization_id": spec.id, "from_level": to_level - 1,
                "to_level": to_level, "reason": "Requirements done; ready for the next level.",
                "status": RequestStatus.APPROVED, "created_at": max(issued, created), "decided_at": at,
                "decided_by_id": instructor, "decision_note": None,
            })
        for rid in self.requirements.get((spec.id, level), []):
            completions.append({"user_id": holder_id, "requirement_id": rid, "confirmed_by_id": instructor,
                                "confirmed_at": at - timedelta(days=1)})
        reason = note = None
        changed = None
        if status == LicenseStatus.SUSPENDED:
            note = "Medical certificate out of date; send a new one to reinstate."
            changed = at + (now - at) * rng.uniform(0.2, 0.9)
            events.append(_event("suspended", level, status, expires, admin, changed, note=note))
        elif status == LicenseStatus.REVOKED:
            reason = rng.choice(REVOKE_REASONS)[0]
            note = "Revoked after review by the academy board."
            changed = at + (now - at) * rng.uniform(0.2, 0.9)
            events.append(_event("revoked", level, status, expires, admin, changed, note=note, reason=reason))
        elif status == LicenseStatus.EXPIRED:
            changed = expires + timedelta(minutes=rng.uniform(1, 600))
            events.append(_event("expired", level, status, expires, None, changed))
        last = events[-1]["at"]
        row = {
            "code": code, "holder_id": holder_id, "specialization_id": spec.id, "level": level,
            "status": status, "status_reason": reason, "status_note": note, "status_changed_at": changed,
            "issued_at": issued, "expires_at": expires, "issued_by_id": events[0]["actor_id"],
            "updated_at": last, "version": len(events) + 1,
        }
        return {"row": row, "spec": spec, "events": events, "requests": requests,
                "completions": completions}

    # -- audit trail --------------------------------------------------------------------

    def audit(self) -> None:
        rng, now, n = self.rng, self.now, self.size.audit_events
        if n <= 0:
            return
        start = now - timedelta(days=365)
        times = _times(rng, start, now, n)
        students = [s[0] for s in self.students if s[3] != UserStatus.PENDING]
        rng.shuffle(students)
        instructors = list(self.instructors)
        rng.shuffle(instructors)
        groups = [  # (share, actors, cumulative weights, action mix)
            (0.72, students, _zipf_cum(len(students), 0.9), _STUDENT_MIX),
            (0.14, instructors, _zipf_cum(len(instructors), 0.7), _INSTRUCTOR_MIX),
            (0.07, self.admins, _zipf_cum(len(self.admins), 1.0), _ADMIN_MIX),
            (0.07, [None], [1.0], _ANONYMOUS_MIX),
        ]
        group_cum = []
        total = 0.0
        for share, *_ in groups:
            total += share
            group_cum.append(total)
        mixes = [([a for a, *_ in mix], _cum([w for *_, w in mix])) for *_, mix in groups]
        spec_codes = [s.code for s in self.specs]
        class_ids = [k.id for k in self.klasses]
        attackers = [f"203.0.113.{rng.randrange(1, 255)}" for _ in range(12)]

        audit_chain.lock_chain(db.session)
        seq, prev = audit_chain.head(db.session)
        rows: list[dict] = []
        written = 0
        for at in times:
            g = _pick(group_cum, rng.random() * total)
            _, actors, cum, _ = groups[g]
            actor = actors[_pick(cum, rng.random() * cum[-1])]
            names, action_cum = mixes[g]
            action = names[_pick(action_cum, rng.random() * action_cum[-1])]
            values = self._event_values(action, actor, at, spec_codes, class_ids, attackers)
            seq += 1
            values["seq"] = seq
            values["prev_hash"] = prev
            values["hash"] = prev = audit_chain.compute_hash(SimpleNamespace(**values))
            rows.append(values)
            if len(rows) >= BATCH * 2:
                db.session.execute(sa.insert(AuditEvent.__table__), rows)
                written += len(rows)
                rows = []
                if written % 100_000 == 0:
                    db.session.commit()
                    audit_chain.lock_chain(db.session)
                    self.echo(f"  … {written:,} audit events")
        if rows:
            db.session.execute(sa.insert(AuditEvent.__table__), rows)
            written += len(rows)
        db.session.commit()
        self.counts["audit_events"] = written
        self.echo(f"  {written:,} audit events over the past year")

    def _event_values(self, action, actor, at, spec_codes, class_ids, attackers) -> dict:
        rng = self.rng
        ip = (f"198.51.{(actor >> 8) & 255}.{actor & 255}" if actor else rng.choice(attackers))
        if actor and rng.random() < 0.15:  # on the move: a phone network
            ip = f"100.{64 + rng.randrange(64)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        outcome, status, method = Outcome.SUCCESS, 200, "POST"
        resource_type = resource_id = None
        details: dict = {}
        label = self.emails.get(actor) if actor else None
        path = "/"
        if action in (actions.LOGIN, actions.LOGOUT, actions.PASSWORD_CHANGED):
            resource_type, resource_id, status = "user", actor, 303
            path = {"auth.login": "/auth/login", "auth.logout": "/auth/logout"}.get(
                action, "/auth/change-password")
        elif action == actions.LOGIN_FAILED:
            outcome, status, path = Outcome.FAILURE, 422, "/auth/login"
            if actor:
                resource_type, resource_id = "user", actor
                details = {"reason": "wrong_password"}
            else:
                label = f"{rng.choice(FIRST).lower()}.{rng.randrange(100)}@example.org"
                details = {"reason": "unknown_email", "email": label}
        elif action == actions.ACCESS_DENIED:
            outcome, status, method = Outcome.DENIED, rng.choice((403, 404)), "GET"
            path = rng.choice(("/admin/", "/audit/", "/admin/users", f"/licenses/{rng.randrange(1, 10**5)}"))
            details = {"http_status": status, "reason": "forbidden" if status == 403 else "not_yours"}
        elif action.startswith("license."):
            owned = self.licenses_by_holder.get(actor) if actor else None
            pool = owned or self.license_ids or [0]
            license_id = rng.choice(pool)
            resource_type, resource_id = "license", license_id
            method = "GET" if action == actions.LICENSE_CERTIFICATE_DOWNLOADED else "POST"
            path = (f"/licenses/{license_id}/certificate.pdf" if method == "GET"
                    else f"/licenses/{license_id}")
            status = 200 if method == "GET" else 303
            details = {"specialization": rng.choice(spec_codes)}
            if action != actions.LICENSE_CERTIFICATE_DOWNLOADED:
                details["level"] = rng.randint(1, 4)
        elif action in (actions.CLASS_JOINED, actions.CLASS_LEFT, actions.CLASS_CREATED,
                        actions.CLASS_CODE_ROTATED):
            class_id = rng.choice(class_ids) if class_ids else 0
            resource_type, resource_id, status = "class", class_id, 303
            path = "/dashboard/join" if action == actions.CLASS_JOINED else f"/dashboard/classes/{class_id}"
        elif action in (actions.REQUIREMENT_CONFIRMED, actions.REQUIREMENT_UNCONFIRMED):
            student = rng.choice(self.students)[0]
            resource_type, resource_id, status = "user", student, 303
            class_id = rng.choice(class_ids) if class_ids else 0
            path = f"/dashboard/classes/{class_id}/students/{student}/requirements"
            details = {"requirement_id": rng.randrange(1, 60)}
        elif action.startswith("user."):
            target = rng.choice(self.students)[0]
            resource_type, resource_id, status = "user", target, 303
            path = f"/admin/users/{target}"
            details = {"fields": ["name"]} if action == actions.USER_UPDATED else {}
        elif action == actions.AUDIT_EXPORTED:
            method, path, details = "GET", "/audit/export.csv", {"filters": {"action": "auth.login_failed"}}
        elif action == actions.JOB_STARTED:
            resource_type, resource_id, path = "job", rng.randrange(1, 500), "/admin/licenses/bulk"
        return {
            "at": at, "actor_id": actor, "actor_label": label, "action": action,
            "resource_type": resource_type, "resource_id": None if resource_id is None else str(resource_id),
            "details": details, "ip": ip, "user_agent": BROWSERS[(actor or rng.randrange(5)) % len(BROWSERS)],
            "method": method, "path": path, "status": status, "outcome": outcome,
        }


# Action mixes: (action, weight).
_STUDENT_MIX = [
    (actions.LOGIN, 40), (actions.LOGOUT, 18), (actions.LOGIN_FAILED, 6),
    (actions.LICENSE_CERTIFICATE_DOWNLOADED, 14), (actions.LICENSE_UPGRADE_REQUESTED, 5),
    (actions.LICENSE_UPGRADE_WITHDRAWN, 1), (actions.CLASS_JOINED, 3), (actions.CLASS_LEFT, 0.5),
    (actions.PASSWORD_CHANGED, 1), (actions.ACCESS_DENIED, 2),
]
_INSTRUCTOR_MIX = [
    (actions.LOGIN, 25), (actions.LOGOUT, 10), (actions.REQUIREMENT_CONFIRMED, 35),
    (actions.REQUIREMENT_UNCONFIRMED, 2), (actions.LICENSE_UPGRADE_APPROVED, 15),
    (actions.LICENSE_UPGRADE_REJECTED, 3), (actions.LICENSE_ISSUED, 4), (actions.CLASS_CREATED, 0.5),
    (actions.CLASS_CODE_ROTATED, 0.5), (actions.LOGIN_FAILED, 1),
]
_ADMIN_MIX = [
    (actions.LOGIN, 15), (actions.LICENSE_ISSUED, 20), (actions.USER_UPDATED, 12),
    (actions.USER_STATUS_CHANGED, 3), (actions.USER_CREATED, 6), (actions.LICENSE_SUSPENDED, 3),
    (actions.LICENSE_REVOKED, 1), (actions.LICENSE_REINSTATED, 1), (actions.LICENSE_RENEWED, 4),
    (actions.LICENSE_UPGRADE_APPROVED, 10), (actions.AUDIT_EXPORTED, 1), (actions.JOB_STARTED, 1),
    (actions.USER_CONSENT_RECORDED, 2), (actions.LOGOUT, 5),
]
_ANONYMOUS_MIX = [(actions.LOGIN_FAILED, 85), (actions.ACCESS_DENIED, 15)]


def _cum(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(cum: list[float], x: float) -> int:
    from bisect import bisect_right

    return min(bisect_right(cum, x), len(cum) - 1)


# Busier on weekdays and in the daytime (UTC).
_HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 8, 9, 10, 10, 11, 12, 12, 10, 8, 5, 3, 2]
_DAY_WEIGHTS = [10, 10, 10, 10, 9, 5, 4]  # Monday .. Sunday


def _times(rng: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    """``n`` sorted times between ``start`` and ``end``, weighted by weekday and hour."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    days = (end - first).days + 1
    slots = [(d, h) for d in range(days) for h in range(24)]
    weights = [_DAY_WEIGHTS[(first + timedelta(days=d)).weekday()] * _HOUR_WEIGHTS[h] for d, h in slots]
    picks = rng.choices(range(len(slots)), weights=weights, k=n)
    offsets = sorted(p * 3600 + rng.random() * 3600 for p in picks)
    out = []
    for offset in offsets:
        at = first + timedelta(seconds=offset)
        out.append(min(max(at, start), end))
    return out


def _event(kind, level, status, expires, actor, at, note=None, reason=None) -> dict:
    return {"kind": kind, "level": level, "status": status, "expires_at": expires, "actor_id": actor,
            "at": at, "note": note, "reason": reason}


def _unique(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _move_sequence(model) -> None:
    """After rows with explicit ids: PostgreSQL's id sequence continues after the largest."""
    if db.session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        ))


def run(size: Size, *, seed: int = 2026, echo: Callable[[str], None] = _noop) -> dict[str, int]:
    """Add a large academy to the database; returns what was made. Raises ScaleError when the
    scale accounts already exist. Commits as it goes."""
    if has_scale_data():
        raise ScaleError(f"This database already has scale data (accounts @{DOMAIN}).")
    builder = _Builder(size, seed, echo)
    builder.catalogue()
    builder.accounts()
    builder.classes()
    builder.licenses()
    builder.audit()
    # Fresh statistics, so the query planner knows the tables' new sizes.
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return builder.counts

