"""What the class pages show: class lists and the roster, read with a fixed number of
queries whatever the number of rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

from portal.extensions import db
from portal.licenses import rules
from portal.models.catalogue import Requirement
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License, RequestStatus, UpgradeRequest
from portal.models.user import User
from portal.pagination import Page

ROSTER_PAGE_SIZE = 50


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


# Built once: the student dashboard asks for it on every view.
_CLASSES_OF_STUDENT = (
    sa.select(Klass)
    .join(ClassMembership, ClassMembership.class_id == Klass.id)
    .options(joinedload(Klass.specialization), joinedload(Klass.instructor))
    .where(ClassMembership.user_id == sa.bindparam("student_id"))
    .order_by(Klass.archived_at.is_not(None), Klass.name)
)


def classes_of_student(student: User) -> list[Klass]:
    return list(db.session.scalars(_CLASSES_OF_STUDENT, {"student_id": student.id}))


# -- one class ----------------------------------------------------------------------------


def class_for_viewer(class_id: int) -> Klass | None:
    return db.session.scalar(
        sa.select(Klass)
        .options(joinedload(Klass.specialization), joinedload(Klass.instructor))
        .where(Klass.id == class_id)
    )


def member(klass: Klass, user_id: int) -> User | None:
    """The student with this id, if they are in the class."""
    return db.session.scalar(
        sa.select(User)
        .join(ClassMembership, ClassMembership.user_id == User.id)
        .where(ClassMembership.class_id == klass.id, User.id == user_id)
    )


@dataclass
class RosterRow:
    student: User
    license: License | None
    pending: UpgradeRequest | None
    joined_at: datetime
    progress: rules.Progress
    decidable: bool = False  # the viewer may decide ``pending`` (``rules.may_review``)


@dataclass(kw_only=True)
class Roster(Page[RosterRow]):
    """A class's students, in numbered pages: a roster is short enough to count, and
    "page 2 of 3" is what its teacher bookmarks."""

    klass: Klass
    total: int
    page: int
    pages: int
    query: str
    # The viewer teaches this class's specialization (or is an admin): they may confirm
    # requirements here. False once an admin took the specialization away.
    teaching: bool = True


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def roster(klass: Klass, query: str = "", page: int = 1, only_user_id: int | None = None,
           *, viewer: User | None = None) -> Roster:
    """One page of the class's students. With a ``viewer``, each pending request says
    whether they may decide it, and the roster whether they teach the specialization."""
    spec = klass.specialization
    pending = aliased(UpgradeRequest)
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
    progress = rules.progress_toward(
        [(user.id, spec.id, rules.next_level(lic, spec)) for user, lic, _, _ in rows]
    )
    decidable: set[int] = set()
    pending_ids = [req.id for _, _, req, _ in rows if req is not None]
    if viewer is not None and pending_ids:
        decidable = set(db.session.scalars(
            sa.select(UpgradeRequest.id).where(
                UpgradeRequest.id.in_(pending_ids), rules.reviewable_by_clause(viewer)
            )
        ))
    teaching = viewer is None or viewer.is_admin or rules.assigned(viewer, spec.id)
    return Roster(
        klass=klass,
        rows=[
            RosterRow(user, lic, req, joined, found, req is not None and req.id in decidable)
            for (user, lic, req, joined), found in zip(rows, progress, strict=True)
        ],
        teaching=teaching,
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
    return [requirement for requirement, _ in rules.progress(student.id, spec, license).items]
