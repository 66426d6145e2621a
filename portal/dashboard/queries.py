"""What the dashboards show, read with a fixed number of queries.

Each function here issues the same number of queries whatever the number of rows:
aggregates are computed by the database (GROUP BY), related rows are joined or loaded
in one batch for the whole page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

import sqlalchemy as sa
from flask_babel import gettext, lazy_gettext
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from portal import dates
from portal.audit import actions
from portal.classes.queries import ClassSummary, classes_of, classes_of_student
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import rules, visibility
from portal.models.audit import AuditEvent
from portal.models.catalogue import Specialization, current_locale, title_in
from portal.models.klass import Klass
from portal.models.license import License, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import Role, User, UserStatus
from portal.stats import summary

# The words of the admin overview's matrix for the machine values of roles and statuses.
ROLE_HEADINGS = {
    Role.STUDENT: lazy_gettext("Students"),
    Role.INSTRUCTOR: lazy_gettext("Instructors"),
    Role.ADMIN: lazy_gettext("Admins"),
}
USER_STATUS_HEADINGS = {
    UserStatus.ACTIVE: lazy_gettext("Active accounts"),
    UserStatus.SUSPENDED: lazy_gettext("Suspended accounts"),
    UserStatus.PENDING: lazy_gettext("Pending accounts"),
    UserStatus.ARCHIVED: lazy_gettext("Archived accounts"),
}
# The same as they are read out in a cell's label ("Students, active: 3").
USER_STATUS_WORDS = {
    UserStatus.ACTIVE: lazy_gettext("active"),
    UserStatus.SUSPENDED: lazy_gettext("suspended"),
    UserStatus.PENDING: lazy_gettext("pending"),
    UserStatus.ARCHIVED: lazy_gettext("archived"),
}

QUEUE_SIZE = 25
WEEKS = 12


# -- student ------------------------------------------------------------------------------


@dataclass
class LicenseCard:
    license: License
    progress: rules.Progress
    pending: UpgradeRequest | None

    # Each is asked for several times while a card is drawn: worked out once.
    @cached_property
    def status(self) -> visibility.StatusView:
        return visibility.status_for(self.license, visibility.HOLDER)  # the holder's own cards

    @cached_property
    def upgrade_problem(self) -> str | None:
        """Why the holder may not ask for the next level now (None: they may)."""
        return rules.upgrade_problem(self.license, self.pending)

    @cached_property
    def may_request_upgrade(self) -> bool:
        """Suggested as a next step once every requirement is confirmed."""
        return self.upgrade_problem is None and self.progress.complete


@dataclass
class StudentOverview:
    cards: list[LicenseCard]
    requests: list[UpgradeRequest]
    classes: list[Klass]
    activity: list[AuditEvent]
    open_specializations: list[Specialization]  # read only when offered (student_overview)

    @cached_property
    def pending_requests(self) -> list[UpgradeRequest]:
        return [r for r in self.requests if r.status == RequestStatus.PENDING]

    @cached_property
    def next_actions(self) -> list[tuple[str, LicenseCard | None]]:
        """What the student should do next, most useful first."""
        found: list[tuple[str, LicenseCard | None]] = []
        if not self.cards and not self.pending_requests and self.open_specializations:
            found.append(("select", None))
        if not self.classes:
            found.append(("join", None))
        found.extend(
            ("not_valid", card)
            for card in self.cards
            if card.license.status != LicenseStatus.ACTIVE
        )
        found.extend(("upgrade", card) for card in self.cards if card.may_request_upgrade)
        if self.pending_requests:
            found.append(("wait", None))
        found.extend(
            ("certificate", card)
            for card in self.cards
            if card.license.status == LicenseStatus.ACTIVE
        )
        return found


# The student dashboard's statements, built once (the page is the one every student opens):
# only the student's id changes from one request to the next.
_STUDENT_LICENSES = (
    sa.select(License)
    .options(joinedload(License.specialization))
    .where(License.holder_id == sa.bindparam("student_id"))
    .order_by(License.issued_at)
)
_STUDENT_REQUESTS = (
    sa.select(UpgradeRequest)
    .options(joinedload(UpgradeRequest.specialization))
    .where(UpgradeRequest.user_id == sa.bindparam("student_id"))
    .order_by(UpgradeRequest.created_at.desc(), UpgradeRequest.id.desc())
    .limit(10)
)
_OPEN_SPECIALIZATIONS = (
    sa.select(Specialization).where(Specialization.archived_at.is_(None)).order_by(Specialization.name)
)
_STUDENT_ACTIVITY = (
    sa.select(AuditEvent)
    .where(AuditEvent.actor_id == sa.bindparam("student_id"))
    .order_by(AuditEvent.at.desc())
    .limit(10)
)


def student_overview(student: User) -> StudentOverview:
    mine = {"student_id": student.id}
    licenses = list(db.session.scalars(_STUDENT_LICENSES, mine))
    requests = list(db.session.scalars(_STUDENT_REQUESTS, mine))
    progress = rules.progress_toward(
        [
            (student.id, lic.specialization_id, rules.next_level(lic, lic.specialization))
            for lic in licenses
        ]
    )
    pending_by_spec = {
        r.specialization_id: r for r in requests if r.status == RequestStatus.PENDING
    }
    cards = [
        LicenseCard(lic, found, pending_by_spec.get(lic.specialization_id))
        for lic, found in zip(licenses, progress, strict=True)
    ]
    # Offered only to a student with no license and no pending request (next_actions'
    # "select"): anyone else is not shown the list, so it is not read.
    open_specs = []
    if not licenses and not pending_by_spec:
        open_specs = [
            s
            for s in db.session.scalars(_OPEN_SPECIALIZATIONS)
            if rules.eligibility_problem(student, s, consent=False) is None
        ]
    activity = list(db.session.scalars(_STUDENT_ACTIVITY, mine))
    return StudentOverview(cards, requests, classes_of_student(student), activity, open_specs)


# -- instructor ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    name: str


@dataclass(frozen=True, slots=True)
class SpecializationName:
    local_name: str


@dataclass(frozen=True, slots=True)
class LicenseCode:
    code: str


@dataclass(frozen=True, slots=True)
class RequestCard:
    """A pending request as its card shows it (licenses/_request_row.html): its own columns
    and the names of its student, specialization and license, read as plain rows."""

    id: int
    user_id: int
    specialization_id: int
    from_level: int
    to_level: int
    reason: str
    status: str
    created_at: datetime
    user: Person
    specialization: SpecializationName
    license: LicenseCode | None


@dataclass(frozen=True, slots=True)
class Decision:
    """One of the instructor's recent decisions, as the dashboard's table shows it."""

    id: int
    user_name: str
    specialization: str  # its name in the reader's language
    to_level: int
    status: str
    decision_note: str | None
    decided_at: datetime


@dataclass
class QueueItem:
    request: RequestCard
    progress: rules.Progress


@dataclass
class InstructorOverview:
    classes: list[ClassSummary]
    queue: list[QueueItem]
    queue_total: int
    decisions: list[Decision]
    specializations: list[Specialization]  # those an admin assigned (the ones they teach)

    @property
    def students(self) -> int:
        return sum(c.students for c in self.classes if c.klass.archived_at is None)


def instructor_overview(instructor: User) -> InstructorOverview:
    """What an instructor's dashboard shows. The queue and the decisions are read as plain
    rows of the columns they show (no objects built, none tracked by the session)."""
    locale = current_locale()
    pending = sa.and_(
        UpgradeRequest.status == RequestStatus.PENDING, rules.reviewable_by_clause(instructor, pending=True)
    )
    queue_total = db.session.scalar(sa.select(sa.func.count(UpgradeRequest.id)).where(pending))
    rows = db.session.execute(
        sa.select(
            UpgradeRequest.id, UpgradeRequest.user_id, UpgradeRequest.specialization_id,
            UpgradeRequest.from_level, UpgradeRequest.to_level, UpgradeRequest.reason,
            UpgradeRequest.status, UpgradeRequest.created_at, User.name.label("user_name"),
            Specialization.name.label("specialization_name"), Specialization.titles, License.code,
        )
        .join(User, User.id == UpgradeRequest.user_id)
        .join(Specialization, Specialization.id == UpgradeRequest.specialization_id)
        .outerjoin(License, License.id == UpgradeRequest.license_id)
        .where(pending)
        .order_by(UpgradeRequest.created_at, UpgradeRequest.id)
        .limit(QUEUE_SIZE)
    ).all()
    requests = [
        RequestCard(
            r.id, r.user_id, r.specialization_id, r.from_level, r.to_level, r.reason, r.status,
            r.created_at, Person(r.user_name),
            SpecializationName(title_in(r.titles, r.specialization_name, locale)),
            LicenseCode(r.code) if r.code is not None else None,
        )
        for r in rows
    ]
    progress = rules.progress_toward(
        [(r.user_id, r.specialization_id, rules.requirements_gate(r)) for r in requests], plain=True
    )
    queue = [QueueItem(r, found) for r, found in zip(requests, progress, strict=True)]
    decisions = [
        Decision(r.id, r.user_name, title_in(r.titles, r.name, locale), r.to_level, r.status,
                 r.decision_note, r.decided_at)
        for r in db.session.execute(
            sa.select(
                UpgradeRequest.id, User.name.label("user_name"), Specialization.name, Specialization.titles,
                UpgradeRequest.to_level, UpgradeRequest.status, UpgradeRequest.decision_note,
                UpgradeRequest.decided_at,
            )
            .join(User, User.id == UpgradeRequest.user_id)
            .join(Specialization, Specialization.id == UpgradeRequest.specialization_id)
            .where(UpgradeRequest.decided_by_id == instructor.id)
            .order_by(UpgradeRequest.decided_at.desc(), UpgradeRequest.id.desc())
            .limit(10)
        )
    ]
    return InstructorOverview(
        classes_of(instructor), queue, queue_total, decisions, rules.specializations_of(instructor)
    )


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
    role_headings = ROLE_HEADINGS
    status_headings = USER_STATUS_HEADINGS
    status_words = USER_STATUS_WORDS

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

    def words(self) -> dict:
        """The matrices' headings and words in the reader's language, each translated once
        (they repeat in every cell), and the cells' labels to fill in (``|format``), as
        the template's own ``_()`` gives them."""
        def now(table):
            return {key: Markup(word) for key, word in table.items()}

        level = Markup(gettext("Level %(level)d"))
        return {
            "role_headings": now(self.role_headings),
            "status_headings": now(self.status_headings),
            "status_words": now(self.status_words),
            "levels": [level % {"level": n} for n in range(1, self.max_level + 1)],
            "user_cell": Markup(gettext("%(role)s, %(status)s: %(num)d")),
            "license_cell": Markup(gettext("%(specialization)s level %(level)d: %(num)d")),
            # The two charts count the same weeks: each week's day is written once for both.
            "days": [dates.calendar_date(w.start) for w in self.registrations],
            "short_days": [dates.calendar_date(w.start, "MMMd") for w in self.registrations],
            "week_of": Markup(gettext("Week of %(date)s: %(num)d")),
        }


def weeks_start(now: datetime | None = None) -> datetime:
    """Monday 00:00 UTC of the first of the last WEEKS weeks (this one included)."""
    now = now or utcnow()
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday - timedelta(weeks=WEEKS - 1)


def admin_overview() -> AdminOverview:
    """The academy in numbers: the kept figures (portal/stats/summary.py, one query over a
    few dozen rows whatever the size of the academy), the catalogue for the headings and
    the failed logins of the last day (an indexed range count)."""
    start = weeks_start()
    figures = summary.kept(db.session, since=summary.monday(start))
    users, licenses, weekly = {}, {}, {summary.REGISTERED: {}, summary.ISSUED: {}}
    for (kind, key_a, key_b), n in figures.items():
        if kind == summary.USERS:
            users[(key_a, key_b)] = n
        elif kind == summary.LICENSES:
            licenses[(int(key_a), int(key_b))] = n
        elif kind in weekly:
            weekly[kind][key_a] = n
    specs = list(db.session.scalars(sa.select(Specialization).order_by(Specialization.name)))
    failed = db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(
            AuditEvent.action == actions.LOGIN_FAILED,
            AuditEvent.at >= utcnow() - timedelta(hours=24),
        )
    )

    def per_week(kind: str) -> list[WeekCount]:
        weeks = [start + timedelta(weeks=i) for i in range(WEEKS)]
        return [WeekCount(week, weekly[kind].get(summary.monday(week), 0)) for week in weeks]

    return AdminOverview(
        users={key: n for key, n in users.items() if n},
        specializations=specs,
        licenses={key: n for key, n in licenses.items() if n},
        pending_requests=figures.get((summary.PENDING, "", ""), 0),
        failed_logins=failed,
        registrations=per_week(summary.REGISTERED),
        issued=per_week(summary.ISSUED),
    )
