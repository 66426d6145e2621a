"""The domain rules several features share, each written once.

Who teaches whom, who may start a specialization, guardian consent, the next level and
the progress toward a level. Where a rule is needed both in Python and as SQL, the two
forms sit side by side here; callers import them instead of writing the join again.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import Level, Requirement, RequirementCompletion, Specialization
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License, UpgradeRequest
from portal.models.user import Role, User, UserStatus

ADULT_AGE = 18


def _today() -> date:
    return utcnow().date()


# -- who teaches whom ---------------------------------------------------------------------


def _in_open_class_of(instructor_id: int):
    """A membership of one of the instructor's classes that is not archived."""
    return sa.and_(
        Klass.id == ClassMembership.class_id,
        Klass.instructor_id == instructor_id,
        Klass.archived_at.is_(None),
    )


def teaches(instructor: User, student: User | int, specialization_id: int | None = None) -> bool:
    """Whether the student is in one of the instructor's open classes (in that
    specialization, when one is given)."""
    student_id = student if isinstance(student, int) else student.id
    query = (
        sa.select(ClassMembership.id)
        .join(Klass, _in_open_class_of(instructor.id))
        .where(ClassMembership.user_id == student_id)
    )
    if specialization_id is not None:
        query = query.where(Klass.specialization_id == specialization_id)
    return db.session.scalar(query.limit(1)) is not None


def taught_by_clause(instructor_id: int):
    """``teaches`` as a condition on UpgradeRequest: its student is in one of the
    instructor's open classes of the request's specialization. Driven from the
    instructor's classes, so the database looks only at their students' requests."""
    ids = (
        sa.select(UpgradeRequest.id)
        .join(ClassMembership, ClassMembership.user_id == UpgradeRequest.user_id)
        .join(
            Klass,
            sa.and_(
                _in_open_class_of(instructor_id),
                Klass.specialization_id == UpgradeRequest.specialization_id,
            ),
        )
    )
    return UpgradeRequest.id.in_(ids)


# -- guardian consent and eligibility -----------------------------------------------------


def needs_guardian_consent(user: User, today: date | None = None) -> bool:
    """True for a student under 18 with no guardian consent recorded yet (SPEC §1)."""
    if user.role != Role.STUDENT or user.guardian_consent_at is not None:
        return False
    age = user.age_on(today or _today())
    return age is not None and age < ADULT_AGE


SUSPENDED = "suspended"
NEEDS_CONSENT = "needs_consent"
NO_BIRTH_DATE = "no_birth_date"
TOO_YOUNG = "too_young"


@dataclass(frozen=True)
class Ineligible:
    """Why a student may not get a first license in a specialization now."""

    reason: str
    spec: Specialization

    def to_student(self) -> str:
        spec = self.spec
        return {
            SUSPENDED: "Your account is suspended.",
            NEEDS_CONSENT: f"Because you are under {ADULT_AGE}, a guardian's consent must be recorded first.",
            NO_BIRTH_DATE: (
                f"{spec.name} requires a date of birth on your account (minimum age {spec.min_age})."
            ),
            TOO_YOUNG: f"{spec.name} is open from the age of {spec.min_age}.",
        }[self.reason]

    def to_staff(self) -> str:
        spec = self.spec
        return {
            SUSPENDED: "the account is suspended",
            NEEDS_CONSENT: f"under {ADULT_AGE} and no guardian consent is recorded",
            NO_BIRTH_DATE: f"no date of birth on the account ({spec.name} starts at {spec.min_age})",
            TOO_YOUNG: f"younger than {spec.min_age}, the minimum age of {spec.name}",
        }[self.reason]


def eligibility_problem(
    student: User, spec: Specialization, *, consent: bool = True, today: date | None = None
) -> Ineligible | None:
    """The first reason ``student`` may not get a first license in ``spec`` now, or None.

    ``consent=False`` leaves the guardian's consent out: a student's own selection then
    becomes a request that waits for it instead of a refusal.
    """
    today = today or _today()
    if student.status == UserStatus.SUSPENDED:
        return Ineligible(SUSPENDED, spec)
    if consent and needs_guardian_consent(student, today):
        return Ineligible(NEEDS_CONSENT, spec)
    if spec.min_age:
        age = student.age_on(today)
        if age is None:
            return Ineligible(NO_BIRTH_DATE, spec)
        if age < spec.min_age:
            return Ineligible(TOO_YOUNG, spec)
    return None


# -- the next level and the progress toward a level ----------------------------------------


def next_level(license: License | None, spec: Specialization) -> int | None:
    """The level a student works toward: 1 without a license, None at the top level."""
    if license is None:
        return 1
    return license.level + 1 if license.level < spec.max_level else None


RequirementRows = list[tuple[Requirement, RequirementCompletion | None]]


def requirement_rows(
    wanted: Iterable[tuple[int, int, int]],
) -> dict[tuple[int, int, int], RequirementRows]:
    """(user id, specialization id, level) -> that level's requirements in order, each
    with the user's confirmed completion or None. Two queries, however many are wanted."""
    wanted = set(wanted)
    levels = {(spec_id, number) for _, spec_id, number in wanted}
    if not levels:
        return {}
    by_level: dict[tuple[int, int], list[Requirement]] = defaultdict(list)
    for requirement, spec_id, number in db.session.execute(
        sa.select(Requirement, Level.specialization_id, Level.number)
        .join(Level, Level.id == Requirement.level_id)
        .where(sa.tuple_(Level.specialization_id, Level.number).in_(list(levels)))
        .order_by(Requirement.position, Requirement.id)
    ):
        by_level[(spec_id, number)].append(requirement)
    requirement_ids = [r.id for reqs in by_level.values() for r in reqs]
    done = {}
    if requirement_ids:
        done = {
            (c.user_id, c.requirement_id): c
            for c in db.session.scalars(
                sa.select(RequirementCompletion).where(
                    RequirementCompletion.user_id.in_({user_id for user_id, _, _ in wanted}),
                    RequirementCompletion.requirement_id.in_(requirement_ids),
                )
            )
        }
    return {
        (user_id, spec_id, number): [
            (r, done.get((user_id, r.id))) for r in by_level.get((spec_id, number), [])
        ]
        for user_id, spec_id, number in wanted
    }


def requirements_status(user: User, spec: Specialization, level: int) -> RequirementRows:
    """One student's rows for one level of ``spec``."""
    return requirement_rows([(user.id, spec.id, level)])[(user.id, spec.id, level)]


def requirements_met(rows: RequirementRows) -> bool:
    return all(completion is not None for _, completion in rows)


@dataclass
class Progress:
    """The requirements of the level a student works toward, and which are met."""

    next_level: int | None  # None: the top level is reached
    items: RequirementRows = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def done(self) -> int:
        return sum(1 for _, completion in self.items if completion is not None)

    @property
    def complete(self) -> bool:
        return self.next_level is not None and self.done == self.total

    @property
    def percent(self) -> int:
        if self.next_level is None:
            return 100
        return 100 if not self.total else round(100 * self.done / self.total)


def progress_toward(wanted: list[tuple[int, int, int | None]]) -> list[Progress]:
    """The progress of each (user id, specialization id, level or None at the top) in
    ``wanted``, in order; two queries in all."""
    rows = requirement_rows((u, s, level) for u, s, level in wanted if level is not None)
    return [
        Progress(level, rows[(u, s, level)]) if level is not None else Progress(None)
        for u, s, level in wanted
    ]


def progress(user_id: int, spec: Specialization, license: License | None) -> Progress:
    """One student's progress toward their next level in ``spec``."""
    return progress_toward([(user_id, spec.id, next_level(license, spec))])[0]
