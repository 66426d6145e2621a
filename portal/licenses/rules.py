"""The domain rules several features share, each written once.

Who teaches whom and who reviews a request, who may start a specialization, guardian
consent, the next level and the progress toward a level. Where a rule is needed both in
Python and as SQL, the two forms sit side by side here; callers import them instead of
writing the join again.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import Level, Requirement, RequirementCompletion, Specialization
from portal.models.klass import ClassMembership, InstructorSpecialization, Klass
from portal.models.license import License, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import Role, User, UserStatus

ADULT_AGE = 18


def _today() -> date:
    return utcnow().date()


# -- who teaches whom, and who decides a request -----------------------------------------
#
# An instructor teaches a student in a specialization when an admin assigned them that
# specialization AND the student is in one of their open classes in it. An instructor
# reviews (sees in the queue, approves, rejects) only requests they teach, and never a
# first level that the specialization does not issue by itself (Internship, say): an
# admin decides those. Each rule below has its Python and its SQL form side by side.


def _in_open_class_of(instructor_id: int):
    """A membership of one of the instructor's classes that is not archived."""
    return sa.and_(
        Klass.id == ClassMembership.class_id,
        Klass.instructor_id == instructor_id,
        Klass.archived_at.is_(None),
    )


def _assigned_to(instructor_id: int, specialization_id):
    """The assignment row of ``specialization_id`` (a value or a column) to the instructor."""
    return sa.and_(
        InstructorSpecialization.user_id == instructor_id,
        InstructorSpecialization.specialization_id == specialization_id,
    )


def specializations_of(instructor: User | int, *, include_archived: bool = False) -> list[Specialization]:
    """The specializations an admin assigned to the instructor, by name."""
    instructor_id = instructor if isinstance(instructor, int) else instructor.id
    query = (
        sa.select(Specialization)
        .join(InstructorSpecialization, _assigned_to(instructor_id, Specialization.id))
        .order_by(Specialization.name)
    )
    if not include_archived:
        query = query.where(Specialization.archived_at.is_(None))
    return list(db.session.scalars(query))


def assigned(instructor: User, specialization_id: int) -> bool:
    """Whether an admin assigned the specialization to this instructor."""
    if instructor.role != Role.INSTRUCTOR:
        return False
    found = sa.select(InstructorSpecialization.user_id).where(
        _assigned_to(instructor.id, specialization_id)
    )
    return db.session.scalar(found) is not None


def teaches(
    instructor: User, student: User | int, specialization_id: int | None = None, *, lock: bool = False
) -> bool:
    """Whether the student is in one of the instructor's open classes in a specialization
    the instructor is assigned (that specialization, when one is given).

    ``lock`` holds the assignment and membership rows it found (FOR SHARE on PostgreSQL)
    until the transaction ends, so an admin removing the specialization, or the student
    leaving, waits for a decision that relied on them; once the removal is committed
    the check fails. SQLite serialises writers, so there it needs no lock.
    """
    if instructor.role != Role.INSTRUCTOR:
        return False
    student_id = student if isinstance(student, int) else student.id
    query = (
        sa.select(ClassMembership.id)
        .join(Klass, _in_open_class_of(instructor.id))
        .join(InstructorSpecialization, _assigned_to(instructor.id, Klass.specialization_id))
        .where(ClassMembership.user_id == student_id)
    )
    if specialization_id is not None:
        query = query.where(Klass.specialization_id == specialization_id)
    query = query.limit(1)
    if lock:
        query = query.with_for_update(read=True, of=[InstructorSpecialization, ClassMembership])
    return db.session.scalar(query) is not None


def taught_by_clause(instructor_id: int, *, pending: bool = False):
    """``teaches`` as a condition on UpgradeRequest: its student is in one of the
    instructor's open classes of the request's specialization, which the instructor is
    assigned. Driven from the instructor's classes, so the database looks only at their
    students' requests; with ``pending`` only at their pending ones, one probe of the
    one-pending-request index per student (not every request they ever made)."""
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
        .join(InstructorSpecialization, _assigned_to(instructor_id, Klass.specialization_id))
    )
    if pending:
        ids = ids.where(UpgradeRequest.status == RequestStatus.PENDING)
    return UpgradeRequest.id.in_(ids)


def admin_decides(request: UpgradeRequest) -> bool:
    """A first level in a specialization that does not issue it by itself: only an
    admin decides it (the student is told so when they ask)."""
    return request.from_level == 0 and not request.specialization.auto_issue


def admin_decides_clause():
    """``admin_decides`` as a condition on UpgradeRequest."""
    return sa.and_(
        UpgradeRequest.from_level == 0,
        UpgradeRequest.specialization_id.in_(
            sa.select(Specialization.id).where(Specialization.auto_issue.is_(False))
        ),
    )


def may_review(actor: User, request: UpgradeRequest, *, lock: bool = False) -> bool:
    """Whether ``actor`` may see and decide the request: an admin any; an instructor one
    they teach that is not an admin's to decide. ``lock`` as in ``teaches``: the
    decision services pass it, so the answer holds until they commit."""
    if actor.role == Role.ADMIN:
        return True
    return (
        actor.role == Role.INSTRUCTOR
        and not admin_decides(request)
        and teaches(actor, request.user_id, request.specialization_id, lock=lock)
    )


def reviewers_of(request: UpgradeRequest) -> list[User]:
    """The instructors who see the request in their queue (``may_review``, from the
    request's side): active instructors who teach its student in its specialization; none
    when an admin decides it."""
    if admin_decides(request):
        return []
    return list(db.session.scalars(
        sa.select(User)
        .join(Klass, sa.and_(Klass.instructor_id == User.id, Klass.archived_at.is_(None),
                             Klass.specialization_id == request.specialization_id))
        .join(ClassMembership, sa.and_(ClassMembership.class_id == Klass.id,
                                       ClassMembership.user_id == request.user_id))
        .join(InstructorSpecialization, _assigned_to(User.id, Klass.specialization_id))
        .where(User.role == Role.INSTRUCTOR, User.status == UserStatus.ACTIVE)
        .distinct().order_by(User.id)))


def reviewable_by_clause(actor: User, *, pending: bool = False):
    """``may_review`` as a condition on UpgradeRequest (the queues use it); ``pending``
    for a queue, which asks only for pending requests (see ``taught_by_clause``)."""
    if actor.role == Role.ADMIN:
        return sa.true()
    if actor.role != Role.INSTRUCTOR:
        return sa.false()
    return sa.and_(taught_by_clause(actor.id, pending=pending), sa.not_(admin_decides_clause()))


# -- guardian consent and eligibility -----------------------------------------------------


def needs_guardian_consent(user: User, today: date | None = None) -> bool:
    """True for a student under 18 with no guardian consent recorded yet (SPEC §1)."""
    if user.role != Role.STUDENT or user.guardian_consent_at is not None:
        return False
    age = user.age_on(today or _today())
    return age is not None and age < ADULT_AGE


SUSPENDED = "suspended"
UNCONFIRMED = "unconfirmed"
NEEDS_CONSENT = "needs_consent"
NO_BIRTH_DATE = "no_birth_date"
TOO_YOUNG = "too_young"


@dataclass(frozen=True)
class Ineligible:
    """Why a student may not get a first license in a specialization now."""

    reason: str
    spec: Specialization

    def to_student(self) -> str:
        """The reason as the student reads it, in the reader's language."""
        spec = self.spec
        words = {"specialization": spec.local_name, "age": spec.min_age or 0, "adult": ADULT_AGE}
        return {
            SUSPENDED: lazy_gettext("Your account is suspended."),
            UNCONFIRMED: lazy_gettext("Confirm your e-mail address first: open the link we sent to it."),
            NEEDS_CONSENT: lazy_gettext(
                "Because you are under %(adult)d, a guardian's consent must be recorded first."
            ),
            NO_BIRTH_DATE: lazy_gettext(
                "%(specialization)s requires a date of birth on your account (minimum age %(age)d)."
            ),
            TOO_YOUNG: lazy_gettext("%(specialization)s is open from the age of %(age)d."),
        }[self.reason] % words

    def to_staff(self) -> str:
        """The reason as staff read it (a clause: callers put it after a colon)."""
        spec = self.spec
        words = {"specialization": spec.local_name, "age": spec.min_age or 0, "adult": ADULT_AGE}
        return {
            SUSPENDED: lazy_gettext("the account is suspended"),
            UNCONFIRMED: lazy_gettext("the account's e-mail address is not confirmed yet"),
            NEEDS_CONSENT: lazy_gettext("under %(adult)d and no guardian consent is recorded"),
            NO_BIRTH_DATE: lazy_gettext(
                "no date of birth on the account (%(specialization)s starts at %(age)d)"
            ),
            TOO_YOUNG: lazy_gettext("younger than %(age)d, the minimum age of %(specialization)s"),
        }[self.reason] % words


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
    if not student.email_confirmed:
        return Ineligible(UNCONFIRMED, spec)
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
    wanted: Iterable[tuple[int, int, int]], *, plain: bool = False
) -> dict[tuple[int, int, int], RequirementRows]:
    """(user id, specialization id, level) -> that level's requirements in order, each
    with the user's confirmed completion or None. Two queries, however many are wanted.

    ``plain``: the requirements and completions as plain rows of what a checklist shows
    (``id``, ``title``; ``confirmed_at``), not objects, for pages that only show them."""
    wanted = set(wanted)
    levels = {(spec_id, number) for _, spec_id, number in wanted}
    if not levels:
        return {}
    requirement = sa.select(Requirement.id, Requirement.title) if plain else sa.select(Requirement)
    by_level: dict[tuple[int, int], list[Requirement]] = defaultdict(list)
    for row in db.session.execute(
        requirement.add_columns(Level.specialization_id, Level.number)
        .join(Level, Level.id == Requirement.level_id)
        .where(sa.tuple_(Level.specialization_id, Level.number).in_(list(levels)))
        .order_by(Requirement.position, Requirement.id)
    ):
        by_level[(row.specialization_id, row.number)].append(row if plain else row[0])
    requirement_ids = [r.id for reqs in by_level.values() for r in reqs]
    done = {}
    if requirement_ids:
        completion = (
            sa.select(RequirementCompletion.user_id, RequirementCompletion.requirement_id,
                      RequirementCompletion.confirmed_at)
            if plain else sa.select(RequirementCompletion)
        ).where(
            RequirementCompletion.user_id.in_({user_id for user_id, _, _ in wanted}),
            RequirementCompletion.requirement_id.in_(requirement_ids),
        )
        found = db.session.execute(completion) if plain else db.session.scalars(completion)
        done = {(c.user_id, c.requirement_id): c for c in found}
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


def progress_toward(wanted: list[tuple[int, int, int | None]], *, plain: bool = False) -> list[Progress]:
    """The progress of each (user id, specialization id, level or None at the top) in
    ``wanted``, in order; two queries in all. ``plain`` as in ``requirement_rows``."""
    rows = requirement_rows([(u, s, level) for u, s, level in wanted if level is not None], plain=plain)
    return [
        Progress(level, rows[(u, s, level)]) if level is not None else Progress(None)
        for u, s, level in wanted
    ]


def progress(user_id: int, spec: Specialization, license: License | None) -> Progress:
    """One student's progress toward their next level in ``spec``."""
    return progress_toward([(user_id, spec.id, next_level(license, spec))])[0]


# -- bulk moves: whom a bulk job issues or raises, and why not ------------------------------

# A rejection holds a student back from bulk moves while it is recent: decided less than
# this many days ago, and no requirement of the level confirmed since (new evidence).
REJECTION_HOLD_DAYS = 30

ISSUE = "issue"
UPGRADE = "upgrade"

# Why a bulk job leaves a student where they are.
NO_ACCOUNT = "no_account"
ALREADY_LICENSED = "already_licensed"
NOT_ELIGIBLE = "not_eligible"
NO_LICENSE = "no_license"
NOT_ACTIVE = "not_active"
TOP_LEVEL = "top_level"
PENDING_REQUEST = "pending_request"
REQUIREMENTS_MISSING = "requirements_missing"
RECENTLY_REJECTED = "recently_rejected"
# The decisions an admin may overrule for a bulk job, with a reason; the others hold.
OVERRIDABLE = frozenset({REQUIREMENTS_MISSING, RECENTLY_REJECTED})


@dataclass(frozen=True)
class BulkVerdict:
    """What a bulk job does with one student: move them from ``from_level`` (0: no license)
    to ``to_level``, or not, with the reasons in staff words."""

    student_id: int
    from_level: int
    to_level: int | None
    blockers: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def moves(self) -> bool:
        return not self.blockers

    @property
    def overridable(self) -> bool:
        return bool(self.blockers) and all(b in OVERRIDABLE for b in self.blockers)

    def moves_with(self, override: bool) -> bool:
        return self.moves or (override and self.overridable)

    @property
    def why_not(self) -> str:
        return "; ".join(str(reason) for reason in self.reasons)


def _hard_stop(
    action: str, spec: Specialization, student: User | None, license: License | None,
    pending: UpgradeRequest | None, today: date,
) -> tuple[str, str] | None:
    """(blocker, reason) when no override may move the student, else None."""
    if student is None:
        return NO_ACCOUNT, _("not eligible: the account no longer exists")
    if action == ISSUE:
        if license is not None:
            return ALREADY_LICENSED, _("already licensed: %(code)s, level %(level)d", code=license.code,
                                       level=license.level)
        if problem := eligibility_problem(student, spec, today=today):
            return NOT_ELIGIBLE, _("not eligible: %(reason)s", reason=problem.to_staff())
    else:
        if license is None:
            return NO_LICENSE, _("not eligible: no %(specialization)s license",
                                 specialization=spec.local_name)
        if student.status == UserStatus.SUSPENDED:
            return NOT_ELIGIBLE, _("not eligible: the account is suspended")
        if license.status != LicenseStatus.ACTIVE:
            return NOT_ACTIVE, str(NOT_ACTIVE_REASONS.get(license.status, NOT_ACTIVE_REASONS[None]))
        if next_level(license, spec) is None:
            return TOP_LEVEL, _("already at the highest level of %(specialization)s",
                                specialization=spec.local_name)
    if pending is not None:
        return PENDING_REQUEST, _(
            "a request for level %(level)d is waiting for review; decide it in the queue",
            level=pending.to_level,
        )
    return None


NOT_ACTIVE_REASONS = {
    LicenseStatus.SUSPENDED: lazy_gettext("not eligible: the license is suspended"),
    LicenseStatus.REVOKED: lazy_gettext("not eligible: the license is revoked"),
    LicenseStatus.EXPIRED: lazy_gettext("not eligible: the license has expired"),
    None: lazy_gettext("not eligible: the license is not active"),
}


def bulk_verdicts(
    action: str, spec: Specialization, student_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, BulkVerdict]:
    """What a bulk ``action`` ("issue" level 1 or "upgrade" by one level) would do with
    each student of ``spec`` now. The preview shows these verdicts and the job asks again
    for each student when it reaches them, so the two always agree.

    Never moved: a missing account, an existing license (issue), no active license or the
    top level (upgrade), an ineligible student, a pending request (its reviewer decides).
    Moved only with an override: missing requirements of the next level (upgrade), and a
    recent rejection of a request for that level. A fixed number of queries for any class.
    """
    now = now or utcnow()
    ids = list(dict.fromkeys(int(i) for i in student_ids))
    if not ids:
        return {}
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    licenses = {
        lic.holder_id: lic
        for lic in db.session.scalars(
            sa.select(License).where(License.holder_id.in_(ids), License.specialization_id == spec.id)
        )
    }
    requests = db.session.scalars(
        sa.select(UpgradeRequest)
        .where(
            UpgradeRequest.user_id.in_(ids),
            UpgradeRequest.specialization_id == spec.id,
            sa.or_(
                UpgradeRequest.status == RequestStatus.PENDING,
                sa.and_(
                    UpgradeRequest.status == RequestStatus.REJECTED,
                    UpgradeRequest.decided_at >= now - timedelta(days=REJECTION_HOLD_DAYS),
                ),
            ),
        )
        .order_by(UpgradeRequest.decided_at, UpgradeRequest.id)
    ).all()
    pending = {r.user_id: r for r in requests if r.status == RequestStatus.PENDING}
    rejected: dict[tuple[int, int], UpgradeRequest] = {}
    for r in requests:
        if r.status == RequestStatus.REJECTED:
            rejected[(r.user_id, r.to_level)] = r  # ordered by time: the latest wins

    verdicts: dict[int, BulkVerdict] = {}
    targets: dict[int, int] = {}
    for sid in ids:
        license = licenses.get(sid)
        level = license.level if license is not None else 0
        stop = _hard_stop(action, spec, users.get(sid), license, pending.get(sid), now.date())
        if stop is not None:
            verdicts[sid] = BulkVerdict(sid, level, None, (stop[0],), (stop[1],))
        else:
            targets[sid] = level + 1

    rows = {}
    if action == UPGRADE:
        rows = requirement_rows((sid, spec.id, target) for sid, target in targets.items())
    for sid, target in targets.items():
        blockers, reasons = [], []
        items = rows.get((sid, spec.id, target), [])
        missing = [r.title for r, completion in items if completion is None]
        if missing:
            blockers.append(REQUIREMENTS_MISSING)
            reasons.append(_("requirements of level %(level)d not met: %(requirements)s", level=target,
                             requirements=", ".join(missing)))
        rejection = rejected.get((sid, target))
        if rejection is not None and not any(
            c is not None and c.confirmed_at > rejection.decided_at for _, c in items
        ):
            blockers.append(RECENTLY_REJECTED)
            day = f"{rejection.decided_at:%Y-%m-%d}"  # as the job's record keeps it
            if rejection.decision_note:
                reasons.append(_("a request for level %(level)d was rejected on %(date)s: %(note)s",
                                 level=target, date=day, note=rejection.decision_note))
            else:
                reasons.append(_("a request for level %(level)d was rejected on %(date)s",
                                 level=target, date=day))
        verdicts[sid] = BulkVerdict(sid, target - 1, target, tuple(blockers), tuple(reasons))
    return {sid: verdicts[sid] for sid in ids}


# -- when the holder may ask for the next level ---------------------------------------------


def upgrade_problem(license: License, pending: UpgradeRequest | None) -> str | None:
    """Why the holder may not ask for the next level of ``license`` now, or None when they
    may. ``pending`` is their pending request in the specialization, if any.

    The one rule behind the upgrade service, the "Ask for level N" button on the license
    page and the dashboard's license cards. Requirements still open do not stop a request
    (an instructor may approve with a note); the pages show how many are confirmed.
    """
    spec = license.specialization
    if license.status != LicenseStatus.ACTIVE:
        return str(NOT_UPGRADABLE.get(license.status, NOT_UPGRADABLE[None]))
    if next_level(license, spec) is None:
        return _("Level %(level)d is the highest level of %(specialization)s.", level=license.level,
                 specialization=spec.local_name)
    if pending is not None and pending.status == RequestStatus.PENDING:
        return _("You already have a pending request for %(specialization)s.", specialization=spec.local_name)
    return None


# Why a license that is not active cannot be upgraded, a whole sentence per status.
NOT_UPGRADABLE = {
    LicenseStatus.SUSPENDED: lazy_gettext("Only an active license can be upgraded; this one is suspended."),
    LicenseStatus.REVOKED: lazy_gettext("Only an active license can be upgraded; this one is revoked."),
    LicenseStatus.EXPIRED: lazy_gettext("Only an active license can be upgraded; this one is expired."),
    None: lazy_gettext("Only an active license can be upgraded; this one is not active."),
}


def requirements_gate(request: UpgradeRequest) -> int | None:
    """The level whose requirements a request is judged on: the level asked for, or None
    for a start request (level 0 to 1), which is decided on eligibility alone, as a
    selection that issues level 1 at once would be."""
    return request.to_level if request.from_level else None


GUARDIAN_CONSENT = "guardian_consent"
ADMIN_REVIEW = "admin_review"
INSTRUCTOR_REVIEW = "instructor_review"


def waiting_for(request: UpgradeRequest) -> str | None:
    """What a pending request waits for: GUARDIAN_CONSENT (a start request of a minor
    without consent), ADMIN_REVIEW (any other start request) or INSTRUCTOR_REVIEW."""
    if request.status != RequestStatus.PENDING:
        return None
    if request.from_level == 0:
        return GUARDIAN_CONSENT if needs_guardian_consent(request.user) else ADMIN_REVIEW
    return INSTRUCTOR_REVIEW
