"""What the dashboards and the roster show, read with a fixed number of queries.

Each function here issues the same number of queries whatever the number of rows:
aggregates are computed by the database (GROUP BY), related rows are joined or loaded
in one batch for the whole page.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.audit import actions
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.catalogue import Level, Requirement, RequirementCompletion, Specialization
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import Role, User, UserStatus
from portal.pagination import Page

ROSTER_PAGE_SIZE = 50
QUEUE_SIZE = 25
WEEKS = 12


# -- progress toward the next level -------------------------------------------------------


@dataclass
class Progress:
    """The requirements of the level a student works toward, and which are met."""

    next_level: int | None  # None: the top level is reached
    items: list[tuple[Requirement, bool]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def done(self) -> int:
        return sum(1 for _, met in self.items if met)

    @property
    def complete(self) -> bool:
        return self.next_level is not None and self.done == self.total

    @property
    def percent(self) -> int:
        if self.next_level is None:
            return 100
        return 100 if not self.total else round(100 * self.done / self.total)


def _requirements_by_level(spec_ids) -> dict[tuple[int, int], list[Requirement]]:
    """(specialization id, level number) -> its requirements in order; one query."""
    if not spec_ids:
        return {}
    rows = db.session.execute(
        sa.select(Requirement, Level.specialization_id, Level.number)
        .join(Level, Level.id == Requirement.level_id)
        .where(Level.specialization_id.in_(list(spec_ids)))
        .order_by(Level.specialization_id, Level.number, Requirement.position, Requirement.id)
    ).all()
    found: dict[tuple[int, int], list[Requirement]] = defaultdict(list)
    for requirement, spec_id, number in rows:
        found[(spec_id, number)].append(requirement)
    return found


def _completions(user_ids, requirement_ids) -> set[tuple[int, int]]:
    """(user id, requirement id) pairs that are confirmed; one query."""
    if not user_ids or not requirement_ids:
        return set()
    rows = db.session.execute(
        sa.select(RequirementCompletion.user_id, RequirementCompletion.requirement_id).where(
            RequirementCompletion.user_id.in_(list(user_ids)),
            RequirementCompletion.requirement_id.in_(list(requirement_ids)),
        )
    ).all()
    return {(u, r) for u, r in rows}


def next_level_for(license: License | None, spec: Specialization) -> int | None:
    if license is None:
        return 1
    return license.level + 1 if license.level < spec.max_level else None


def progress(user_id, spec, license, requirements, completions) -> Progress:
    level = next_level_for(license, spec)
    if level is None:
        return Progress(None)
    return Progress(
        level,
        [(r, (user_id, r.id) in completions) for r in requirements.get((spec.id, level), [])],
    )


# -- roster -------------------------------------------------------------------------------


@dataclass
class RosterRow:
    student: User
    license: License | None
    pending: UpgradeRequest | None
    joined_at: datetime
    progress: Progress


@dataclass(kw_only=True)
class Roster(Page[RosterRow]):
    """A class's students, in numbered pages: a roster is short enough to count, and
    "page 2 of 3" is what its teacher bookmarks."""

    klass: Klass
    total: int
    page: int
    pages: int
    query: str


def class_for_viewer(class_id: int) -> Klass | None:
    return db.session.scalar(
        sa.select(Klass)
        .options(joinedload(Klass.specialization), joinedload(Klass.instructor))
        .where(Klass.id == class_id)
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def roster(klass: Klass, query: str = "", page: int = 1, only_user_id: int | None = None) -> Roster:
    spec = klass.specialization
    pending = sa.orm.aliased(UpgradeRequest)
    base = (
        sa.select(User, License, pending, ClassMembership.joined_at)
        .join(ClassMembership, ClassMembership.user_id == User.id)
        .outerjoin(
            License,
            sa.and_(License.holder_id == User.id, License.specialization_id == spec.id),
        )
        .outerjoin(
            pending,
            sa.and_(
                pending.user_id == User.id,
                pending.specialization_id == spec.id,
                pending.status == RequestStatus.PENDING,
            ),
        )
        .where(ClassMembership.class_id == klass.id)
    )
    query = (query or "").strip()[:100]
    if query:
        pattern = _like(query.lower())
        base = base.where(
            sa.or_(
                sa.func.lower(User.name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    if only_user_id is not None:
        base = base.where(User.id == only_user_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery()))
    pages = max(1, -(-total // ROSTER_PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        base.order_by(User.name, User.id)
        .limit(ROSTER_PAGE_SIZE)
        .offset((page - 1) * ROSTER_PAGE_SIZE)
    ).all()
    requirements = _requirements_by_level([spec.id])
    completions = _completions(
        [r[0].id for r in rows], [req.id for reqs in requirements.values() for req in reqs]
    )
    return Roster(
        klass=klass,
        rows=[
            RosterRow(user, lic, req, joined, progress(user.id, spec, lic, requirements, completions))
            for user, lic, req, joined in rows
        ],
        first=page == 1,
        next={"page": page + 1} if page < pages else None,
        previous={"page": page - 1} if page > 1 else None,
        total=total,
        page=page,
        pages=pages,
        query=query,
    )


def requirements_for_next_level(klass: Klass, student: User) -> list[Requirement]:
    """The requirements a roster row shows as checkboxes for this student."""
    spec = klass.specialization
    license = db.session.scalar(
        sa.select(License).where(
            License.holder_id == student.id, License.specialization_id == spec.id
        )
    )
    level = next_level_for(license, spec)
    if level is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Requirement)
            .join(Level, Level.id == Requirement.level_id)
            .where(Level.specialization_id == spec.id, Level.number == level)
            .order_by(Requirement.position, Requirement.id)
        )
    )


# -- class lists --------------------------------------------------------------------------


@dataclass
class ClassSummary:
    klass: Klass
    students: int


def classes_of(instructor: User | None) -> list[ClassSummary]:
    """An instructor's classes (or every class, for None) with their student counts."""
    # Counted per class through the (class_id, user_id) index, so an instructor's page
    # costs the same however many other classes and students the academy has.
    count = (
        sa.select(sa.func.count(ClassMembership.id))
        .where(ClassMembership.class_id == Klass.id)
        .correlate(Klass)
        .scalar_subquery()
    )
    stmt = (
        sa.select(Klass, count)
        .options(joinedload(Klass.specialization), joinedload(Klass.instructor))
        .order_by(Klass.archived_at.is_not(None), Klass.name, Klass.id)
    )
    if instructor is not None:
        stmt = stmt.where(Klass.instructor_id == instructor.id)
    return [ClassSummary(k, n) for k, n in db.session.execute(stmt).all()]


def classes_of_student(student: User) -> list[Klass]:
    return list(
        db.session.scalars(
            sa.select(Klass)
            .join(ClassMembership, ClassMembership.class_id == Klass.id)
            .options(joinedload(Klass.specialization), joinedload(Klass.instructor))
            .where(ClassMembership.user_id == student.id)
            .order_by(Klass.archived_at.is_not(None), Klass.name)
        )
    )


# -- student ------------------------------------------------------------------------------


@dataclass
class LicenseCard:
    license: License
    progress: Progress
    pending: UpgradeRequest | None

    @property
    def may_request_upgrade(self) -> bool:
        return (
            self.license.status == LicenseStatus.ACTIVE
            and self.progress.complete
            and self.pending is None
        )


@dataclass
class StudentOverview:
    cards: list[LicenseCard]
    requests: list[UpgradeRequest]
    classes: list[Klass]
    activity: list[AuditEvent]
    open_specializations: list[Specialization]

    @property
    def pending_requests(self) -> list[UpgradeRequest]:
        return [r for r in self.requests if r.status == RequestStatus.PENDING]

    @property
    def next_actions(self) -> list[tuple[str, LicenseCard | None]]:
        """What the student should do next, most useful first."""
        found: list[tuple[str, LicenseCard | None]] = []
        if not self.cards and not self.pending_requests and self.open_specializations:
            found.append(("select", None))
        if not self.classes:
            found.append(("join", None))
        found.extend(("upgrade", card) for card in self.cards if card.may_request_upgrade)
        if self.pending_requests:
            found.append(("wait", None))
        found.extend(
            ("certificate", card)
            for card in self.cards
            if card.license.status == LicenseStatus.ACTIVE
        )
        return found


def student_overview(student: User) -> StudentOverview:
    licenses = list(
        db.session.scalars(
            sa.select(License)
            .options(joinedload(License.specialization))
            .where(License.holder_id == student.id)
            .order_by(License.issued_at)
        )
    )
    requests = list(
        db.session.scalars(
            sa.select(UpgradeRequest)
            .options(joinedload(UpgradeRequest.specialization))
            .where(UpgradeRequest.user_id == student.id)
            .order_by(UpgradeRequest.created_at.desc(), UpgradeRequest.id.desc())
            .limit(10)
        )
    )
    requirements = _requirements_by_level({lic.specialization_id for lic in licenses})
    completions = _completions(
        [student.id], [req.id for reqs in requirements.values() for req in reqs]
    )
    pending_by_spec = {
        r.specialization_id: r for r in requests if r.status == RequestStatus.PENDING
    }
    cards = [
        LicenseCard(
            lic,
            progress(student.id, lic.specialization, lic, requirements, completions),
            pending_by_spec.get(lic.specialization_id),
        )
        for lic in licenses
    ]
    held = {lic.specialization_id for lic in licenses}
    age = student.age_on(utcnow().date())
    open_specs = [
        s
        for s in db.session.scalars(
            sa.select(Specialization)
            .where(Specialization.archived_at.is_(None))
            .order_by(Specialization.name)
        )
        if s.id not in held and (age is None or age >= s.min_age)
    ]
    activity = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.actor_id == student.id)
            .order_by(AuditEvent.at.desc())
            .limit(10)
        )
    )
    return StudentOverview(cards, requests, classes_of_student(student), activity, open_specs)


# -- instructor ---------------------------------------------------------------------------


@dataclass
class QueueItem:
    request: UpgradeRequest
    progress: Progress


@dataclass
class InstructorOverview:
    classes: list[ClassSummary]
    queue: list[QueueItem]
    queue_total: int
    decisions: list[UpgradeRequest]

    @property
    def students(self) -> int:
        return sum(c.students for c in self.classes if c.klass.archived_at is None)


def _taught_by(instructor: User):
    """A condition on UpgradeRequest: its student is in one of the instructor's open
    classes of the request's specialization. Driven from the instructor's classes, so
    the database looks only at their students' pending requests."""
    ids = (
        sa.select(UpgradeRequest.id)
        .join(ClassMembership, ClassMembership.user_id == UpgradeRequest.user_id)
        .join(
            Klass,
            sa.and_(
                Klass.id == ClassMembership.class_id,
                Klass.specialization_id == UpgradeRequest.specialization_id,
            ),
        )
        .where(
            Klass.instructor_id == instructor.id,
            Klass.archived_at.is_(None),
            UpgradeRequest.status == RequestStatus.PENDING,
        )
    )
    return UpgradeRequest.id.in_(ids)


def instructor_overview(instructor: User) -> InstructorOverview:
    pending = sa.and_(UpgradeRequest.status == RequestStatus.PENDING, _taught_by(instructor))
    queue_total = db.session.scalar(sa.select(sa.func.count(UpgradeRequest.id)).where(pending))
    requests = list(
        db.session.scalars(
            sa.select(UpgradeRequest)
            .options(
                joinedload(UpgradeRequest.user),
                joinedload(UpgradeRequest.specialization),
                joinedload(UpgradeRequest.license),
            )
            .where(pending)
            .order_by(UpgradeRequest.created_at, UpgradeRequest.id)
            .limit(QUEUE_SIZE)
        )
    )
    requirements = _requirements_by_level({r.specialization_id for r in requests})
    completions = _completions(
        {r.user_id for r in requests}, [q.id for reqs in requirements.values() for q in reqs]
    )
    queue = [
        QueueItem(
            r,
            Progress(
                r.to_level,
                [
                    (q, (r.user_id, q.id) in completions)
                    for q in requirements.get((r.specialization_id, r.to_level), [])
                ],
            ),
        )
        for r in requests
    ]
    decisions = list(
        db.session.scalars(
            sa.select(UpgradeRequest)
            .options(joinedload(UpgradeRequest.user), joinedload(UpgradeRequest.specialization))
            .where(UpgradeRequest.decided_by_id == instructor.id)
            .order_by(UpgradeRequest.decided_at.desc(), UpgradeRequest.id.desc())
            .limit(10)
        )
    )
    return InstructorOverview(classes_of(instructor), queue, queue_total, decisions)


# -- admin --------------------------------------------------------------------------------


@dataclass
class WeekCount:
    start: datetime
    count: int


@dataclass
class AdminOverview:
    users: dict[tuple[str, str], int]
    specializations: list[Specialization]
    licenses: dict[tuple[int, int], int]
    pending_requests: int
    failed_logins: int
    registrations: list[WeekCount]
    issued: list[WeekCount]

    roles = Role.ALL
    statuses = UserStatus.ALL

    def users_total(self, role=None, status=None) -> int:
        return sum(
            n
            for (r, s), n in self.users.items()
            if (role is None or r == role) and (status is None or s == status)
        )

    def licenses_total(self, spec_id: int) -> int:
        return sum(n for (s, _), n in self.licenses.items() if s == spec_id)

    @property
    def max_level(self) -> int:
        return max((s.max_level for s in self.specializations), default=0)


def weeks_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 UTC of the first of the last WEEKS weeks (this one included)."""
    now = now or utcnow()
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday - timedelta(weeks=WEEKS - 1)


def _week_number(column, start: datetime):
    """The week (0 .. WEEKS-1) a timestamp falls in, computed by the database."""
    if db.session.get_bind().dialect.name == "sqlite":
        # Stored as naive UTC text, which julianday() reads.
        origin = start.replace(tzinfo=None).isoformat(sep=" ")
        return sa.cast((sa.func.julianday(column) - sa.func.julianday(origin)) / 7, sa.Integer)
    seconds = sa.extract("epoch", column - sa.literal(start, UTCDateTime()))
    return sa.cast(sa.func.floor(seconds / 604800), sa.Integer)


def _per_week(column, *conditions) -> list[WeekCount]:
    start = weeks_start()
    week = _week_number(column, start).label("week")
    counts = dict(
        db.session.execute(
            sa.select(week, sa.func.count()).where(column >= start, *conditions).group_by(week)
        ).all()
    )
    return [WeekCount(start + timedelta(weeks=i), counts.get(i, 0)) for i in range(WEEKS)]


def admin_overview() -> AdminOverview:
    users = {
        (role, status): n
        for role, status, n in db.session.execute(
            sa.select(User.role, User.status, sa.func.count(User.id)).group_by(User.role, User.status)
        )
    }
    licenses = {
        (spec_id, level): n
        for spec_id, level, n in db.session.execute(
            sa.select(License.specialization_id, License.level, sa.func.count(License.id))
            .where(License.status == LicenseStatus.ACTIVE)
            .group_by(License.specialization_id, License.level)
        )
    }
    specs = list(db.session.scalars(sa.select(Specialization).order_by(Specialization.name)))
    pending = db.session.scalar(
        sa.select(sa.func.count(UpgradeRequest.id)).where(
            UpgradeRequest.status == RequestStatus.PENDING
        )
    )
    failed = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == actions.LOGIN_FAILED,
            AuditEvent.at >= utcnow() - timedelta(hours=24),
        )
    )
    return AdminOverview(
        users=users,
        specializations=specs,
        licenses=licenses,
        pending_requests=pending,
        failed_logins=failed,
        registrations=_per_week(User.created_at, User.role == Role.STUDENT),
        issued=_per_week(License.issued_at),
    )
