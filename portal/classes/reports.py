"""A class seen as a whole: the roster file and the class report.

Both read a fixed number of queries whatever the number of students: the members with
their license, then every confirmation of the class's requirements at once.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.audit.export import neutralise
from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import Level, Requirement, RequirementCompletion
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License, RequestStatus, UpgradeRequest
from portal.models.user import User

# No confirmation (and no joining) for this long: the report lists the student.
IDLE_DAYS = 30
CSV_BATCH = 500


def levels_of(klass: Klass) -> list[Level]:
    """The levels of the class's specialization, with their requirements, in order."""
    return list(db.session.scalars(
        sa.select(Level)
        .options(selectinload(Level.requirements))
        .where(Level.specialization_id == klass.specialization_id)
        .order_by(Level.number)
    ))


def _requirements(levels: list[Level]) -> list[Requirement]:
    return [r for level in levels for r in sorted(level.requirements, key=lambda r: (r.position, r.id))]


def _members(klass: Klass):
    """(student, license or None, joined at) for every member, by name."""
    return (
        sa.select(User, License, ClassMembership.joined_at)
        .join(ClassMembership, ClassMembership.user_id == User.id)
        .outerjoin(License, sa.and_(License.holder_id == User.id,
                                    License.specialization_id == klass.specialization_id))
        .where(ClassMembership.class_id == klass.id)
        .order_by(User.name, User.id)
    )


def _confirmed(user_ids: list[int], requirement_ids: list[int]) -> dict[int, dict[int, datetime]]:
    """Per student, the requirement ids confirmed and when."""
    found: dict[int, dict[int, datetime]] = defaultdict(dict)
    if not user_ids or not requirement_ids:
        return found
    rows = db.session.execute(
        sa.select(RequirementCompletion.user_id, RequirementCompletion.requirement_id,
                  RequirementCompletion.confirmed_at)
        .where(RequirementCompletion.user_id.in_(user_ids),
               RequirementCompletion.requirement_id.in_(requirement_ids))
    )
    for user_id, requirement_id, at in rows:
        found[user_id][requirement_id] = at
    return found


# -- the roster file ----------------------------------------------------------------------

# Column names in English in every language, like the audit export: a file scripts read.
FIXED_COLUMNS = ["name", "email", "level", "status", "joined"]


def roster_rows(klass: Klass, batch: int = CSV_BATCH) -> Iterator[str]:
    """The roster as CSV text, a batch of students at a time; every text cell is made
    inert for spreadsheets (``portal.audit.export.neutralise``)."""
    levels = levels_of(klass)
    requirements = _requirements(levels)
    numbers = {level.id: level.number for level in levels}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIXED_COLUMNS + [
        neutralise(f"L{numbers[r.level_id]}: {r.title}") for r in requirements
    ])
    yield buffer.getvalue()
    offset = 0
    while True:
        chunk = db.session.execute(_members(klass).limit(batch).offset(offset)).all()
        if not chunk:
            return
        confirmed = _confirmed([u.id for u, _, _ in chunk], [r.id for r in requirements])
        buffer.seek(0)
        buffer.truncate()
        for user, license, joined in chunk:
            done = confirmed.get(user.id, {})
            writer.writerow([
                neutralise(user.name), neutralise(user.email),
                license.level if license else "", license.status if license else "",
                joined.date().isoformat(),
                *["confirmed" if r.id in done else "" for r in requirements],
            ])
        yield buffer.getvalue()
        offset += batch
        if len(chunk) < batch:
            return


# -- the class report ---------------------------------------------------------------------


@dataclass
class RequirementCount:
    requirement: Requirement
    confirmed: int


@dataclass
class LevelCounts:
    level: Level
    requirements: list[RequirementCount] = field(default_factory=list)


@dataclass
class IdleStudent:
    student: User
    since: datetime  # the last confirmation, or the day they joined


@dataclass
class ClassReport:
    klass: Klass
    students: int
    levels: list[LevelCounts]
    idle: list[IdleStudent]
    waiting: list[UpgradeRequest]
    at: datetime
    idle_days: int = IDLE_DAYS

    def chart(self) -> dict:
        """The counts as Chart.js series, one per level (``static/js/charts.js``)."""
        return {
            f"level_{lc.level.number}": {
                "labels": [rc.requirement.title for rc in lc.requirements],
                "values": [rc.confirmed for rc in lc.requirements],
            }
            for lc in self.levels
        }


def class_report(klass: Klass, now: datetime | None = None) -> ClassReport:
    """Per requirement of each level, how many of the class's students have it confirmed;
    the students with nothing confirmed for ``IDLE_DAYS``; the requests waiting."""
    now = now or utcnow()
    levels = levels_of(klass)
    requirements = _requirements(levels)
    members = db.session.execute(_members(klass)).all()
    confirmed = _confirmed([u.id for u, _, _ in members], [r.id for r in requirements])
    counts: dict[int, int] = defaultdict(int)
    for done in confirmed.values():
        for requirement_id in done:
            counts[requirement_id] += 1
    by_level = {level.id: LevelCounts(level) for level in levels}
    for requirement in requirements:
        by_level[requirement.level_id].requirements.append(
            RequirementCount(requirement, counts[requirement.id]))
    cutoff = now - timedelta(days=IDLE_DAYS)
    idle = []
    for user, _license, joined in members:
        since = max([joined, *confirmed.get(user.id, {}).values()])
        if since < cutoff:
            idle.append(IdleStudent(user, since))
    waiting = list(db.session.scalars(
        sa.select(UpgradeRequest)
        .options(selectinload(UpgradeRequest.user))
        .join(ClassMembership, sa.and_(ClassMembership.user_id == UpgradeRequest.user_id,
                                       ClassMembership.class_id == klass.id))
        .where(UpgradeRequest.specialization_id == klass.specialization_id,
               UpgradeRequest.status == RequestStatus.PENDING)
        .order_by(UpgradeRequest.created_at, UpgradeRequest.id)
    ))
    return ClassReport(klass, len(members), [by_level[level.id] for level in levels], idle, waiting, now)
