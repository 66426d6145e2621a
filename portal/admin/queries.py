"""Read-only queries for the admin screens: the hub's counts, filtered lists with keyset
pagination, the catalogue and the jobs.

Keyset ("after this row") pagination costs the same on page 1 and page 4,000 and
needs no COUNT over the whole table; the cursor is the sort value and the id of
the last row shown, so it is stable while rows are added.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from portal import dates, search
from portal.auth import lockout
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.catalogue import Specialization
from portal.models.job import Job, JobItem
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License
from portal.models.user import Role, User, UserSession, UserStatus
from portal.pagination import Page
from portal.params import MAX_ID

PAGE_SIZE = 25

# sort name -> (column, descending)
USER_SORTS: dict[str, tuple[Any, bool]] = {
    "name": (User.name, False),
    "-name": (User.name, True),
    "email": (User.email, False),
    "newest": (User.created_at, True),
    "oldest": (User.created_at, False),
}
USER_SORT_LABELS = {
    "name": _l("Name A–Z"),
    "-name": _l("Name Z–A"),
    "email": _l("E-mail"),
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
}


def encode_cursor(value, row_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None):
    """(value, id) from a cursor, or None for a missing or damaged one (first page)."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(row_id, int):
            return None
        return value, row_id
    except (ValueError, TypeError, KeyError):
        return None


def _fits(value, column) -> bool:
    """Whether a cursor's value can be compared with ``column``: the cursor comes from the
    address, and a changed one may carry any type, a naive time or a year out of range."""
    kind = column.type
    kind = (kind.impl_instance if isinstance(kind, sa.types.TypeDecorator) else kind).python_type
    if kind is datetime:
        return isinstance(value, datetime) and value.tzinfo is not None and dates.problem(value) is None
    if kind is int:
        return type(value) is int and 0 <= value <= MAX_ID
    return type(value) is kind


def _keyset(query, column, descending: bool, cursor: str | None, id_column, limit: int):
    """Order ``query`` by (column, id), continue after the cursor, fetch one extra row.
    A cursor that does not fit the column counts as absent (the first page)."""
    after = decode_cursor(cursor)
    if after is not None and not (_fits(after[0], column) and _fits(after[1], id_column)):
        after = None
    if after is not None:
        value, row_id = after
        if descending:
            query = query.where(sa.or_(column < value, sa.and_(column == value, id_column < row_id)))
        else:
            query = query.where(sa.or_(column > value, sa.and_(column == value, id_column > row_id)))
    order = (column.desc(), id_column.desc()) if descending else (column.asc(), id_column.asc())
    return query.order_by(*order).limit(limit + 1), after is None


def _user_contains(text: str) -> list:
    """Users whose name or e-mail contains ``text`` (only the e-mail when it has an @), in any
    case; the trigram index narrows the rows first (portal.search)."""
    if "@" in text:
        conditions = [User.email.contains(text.lower(), autoescape=True),
                      search.narrowing(text.lower(), "email")]
    else:
        conditions = [sa.or_(User.name.icontains(text, autoescape=True),
                             User.email.contains(text.lower(), autoescape=True)),
                      search.narrowing(text)]
    return [c for c in conditions if c is not None]


# What the user list shows of each account: plain rows, no objects to load and track.
USER_LIST_COLUMNS = (User.id, User.name, User.email, User.role, User.status, User.created_at)


def users_page(q: str = "", role: str = "", status: str = "", sort: str = "name",
               after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """Accounts matching the filters, one keyset page of rows of ``USER_LIST_COLUMNS``."""
    query = sa.select(*USER_LIST_COLUMNS)
    q = (q or "").strip()
    if q:
        query = query.where(*_user_contains(q))
    if role in Role.ALL:
        query = query.where(User.role == role)
    if status in UserStatus.ALL:
        query = query.where(User.status == status)
    else:  # people who left are listed apart: only when their status is asked for
        query = query.where(User.status != UserStatus.ARCHIVED)
    column, descending = USER_SORTS.get(sort, USER_SORTS["name"])
    query, first = _keyset(query, column, descending, after, User.id, limit)
    rows = list(db.session.execute(query))
    next_args = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_args = {"after": encode_cursor(getattr(rows[-1], column.key), rows[-1].id)}
    return Page(rows=rows, first=first, next=next_args)


def archived_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(User.status == UserStatus.ARCHIVED))


def user_overview(user: User) -> dict:
    """Everything the user page shows, in a handful of queries."""
    now = utcnow()
    licenses = db.session.scalars(
        sa.select(License).options(selectinload(License.specialization))
        .where(License.holder_id == user.id).order_by(License.issued_at)
    ).all()
    memberships = db.session.execute(
        sa.select(ClassMembership, Klass).join(Klass, Klass.id == ClassMembership.class_id)
        .options(selectinload(Klass.instructor), selectinload(Klass.specialization))
        .where(ClassMembership.user_id == user.id).order_by(ClassMembership.joined_at)
    ).all()
    teaching = db.session.scalars(
        sa.select(Klass).options(selectinload(Klass.specialization))
        .where(Klass.instructor_id == user.id).order_by(Klass.created_at)
    ).all()
    sessions = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
               UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(
            sa.and_(AuditEvent.resource_type == "user", AuditEvent.resource_id == str(user.id)),
            AuditEvent.actor_id == user.id,
        ))
        .order_by(AuditEvent.seq.desc()).limit(20)
    ).all()
    return {
        "licenses": licenses,
        "memberships": memberships,
        "teaching": teaching,
        "sessions": sessions,
        "events": events,
        "throttles": lockout.overview(user),
        "now": now,
        "locked": lockout.is_locked(user, now),
    }


def licenses_page(*, spec_id: int | None = None, level: int | None = None, status: str = "",
                  expiring_days: int | None = None, holder: str = "", after: str | None = None,
                  limit: int = PAGE_SIZE) -> Page:
    """Licenses, newest first, with their holder and specialization loaded."""
    query = (
        sa.select(License)
        .options(selectinload(License.holder), selectinload(License.specialization))
    )
    if spec_id:
        query = query.where(License.specialization_id == spec_id)
    if level:
        query = query.where(License.level == level)
    if status:
        query = query.where(License.status == status)
    if expiring_days is not None:
        now = utcnow()
        query = query.where(License.expires_at.is_not(None),
                            License.expires_at > now,
                            License.expires_at <= now + timedelta(days=expiring_days))
    holder = (holder or "").strip()
    if holder:
        hint = search.narrowing(holder)
        query = query.join(User, User.id == License.holder_id).where(
            sa.or_(User.name.icontains(holder, autoescape=True),
                   User.email.contains(holder.lower(), autoescape=True)),
            *([hint] if hint is not None else []),
        )
    query, first = _keyset(query, License.id, True, after, License.id, limit)
    rows = list(db.session.scalars(query))
    next_args = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_args = {"after": encode_cursor(rows[-1].id, rows[-1].id)}
    return Page(rows=rows, first=first, next=next_args)


def job_items(job: Job) -> dict[str, list[tuple[JobItem, str]]]:
    """The job's items grouped by outcome, each with a label (the student's name)."""
    items = db.session.scalars(
        sa.select(JobItem).where(JobItem.job_id == job.id).order_by(JobItem.id)
    ).all()
    ids = [int(i.key) for i in items if i.key.isdigit()]
    names = dict(db.session.execute(
        sa.select(User.id, User.name).where(User.id.in_(ids))
    ).all()) if ids else {}
    grouped: dict[str, list[tuple[JobItem, str]]] = {"done": [], "skipped": [], "failed": []}
    for item in items:
        label = names.get(int(item.key), f"#{item.key}") if item.key.isdigit() else item.key
        grouped.setdefault(item.outcome, []).append((item, label))
    return grouped


def recent_jobs(limit: int = 50) -> list[tuple[Job, str | None]]:
    return db.session.execute(
        sa.select(Job, User.name).outerjoin(User, User.id == Job.actor_id)
        .order_by(Job.id.desc()).limit(limit)
    ).all()


def specializations_with_license_counts() -> list[tuple[Specialization, int]]:
    """Every specialization with how many licenses it has; the archived ones last."""
    return db.session.execute(
        sa.select(Specialization, sa.func.count(License.id))
        .outerjoin(License, License.specialization_id == Specialization.id)
        .group_by(Specialization.id)
        .order_by(Specialization.archived_at.is_not(None), Specialization.name)
    ).all()


def specialization_choices(include_archived: bool = False) -> list[tuple[int, str]]:
    """(id, "Name (CODE)") pairs for a select, by name."""
    query = sa.select(Specialization).order_by(Specialization.name)
    if not include_archived:
        query = query.where(Specialization.archived_at.is_(None))
    return [(s.id, f"{s.local_name} ({s.code})") for s in db.session.scalars(query)]


def teachable_specializations(taught: list[Specialization]) -> list[Specialization]:
    """What an instructor may be assigned: the open specializations, and the archived ones
    they already hold (so that they can be taken away), by name."""
    held = {s.id for s in taught}
    return list(db.session.scalars(
        sa.select(Specialization)
        .where(sa.or_(Specialization.archived_at.is_(None), Specialization.id.in_(held)))
        .order_by(Specialization.name)
    ))


def open_classes() -> list[tuple[Klass, Specialization]]:
    """Classes that are not archived, each with its specialization."""
    return db.session.execute(
        sa.select(Klass, Specialization)
        .join(Specialization, Specialization.id == Klass.specialization_id)
        .where(Klass.archived_at.is_(None)).order_by(Klass.name)
    ).all()
