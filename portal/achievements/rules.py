"""What each trigger measures, from recorded history only (one home for the rule).

``measure(trigger, user_ids, specialization_id)`` gives each person's value of a
trigger: how many times they logged in, the highest level they ever held ... An
achievement is earned when the value reaches its ``count``. Awarding (one person, in the
transaction of the event) and the rebuild (everyone) both call this same function, so
they cannot disagree. Every value only ever grows: history is appended to, never
rewritten, so undoing an action never lowers it and repeating one never counts twice
where it should not (a requirement confirmed, taken back and confirmed again completes
its level once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.audit import actions
from portal.extensions import db
from portal.models.achievement import CertificateVerification
from portal.models.audit import AuditEvent, Outcome
from portal.models.catalogue import Requirement, RequirementCompletion
from portal.models.license import License, LicenseEvent

LOGIN = "login"
LICENSE = "license"
LEVEL = "level"
REQUIREMENTS = "requirements"
CLASS = "class"
VERIFIED = "verified"
ACTIVE_DAYS = "active_days"
RENEWAL = "renewal"

# The fixed list, in the order the admin's form offers it: the trigger and what its count means.
TRIGGERS = {
    LOGIN: _l("Logging in (count: logins; 1 is the first login)"),
    LICENSE: _l("Licenses received (count: licenses; 1 is the first license)"),
    LEVEL: _l("A level reached (count: the level number)"),
    REQUIREMENTS: _l("Every requirement of a level confirmed (count: levels)"),
    CLASS: _l("Classes joined (count: classes; 1 is the first class)"),
    VERIFIED: _l("Certificate checked by someone else (count: checks)"),
    ACTIVE_DAYS: _l("Days with a login in one calendar month (count: days)"),
    RENEWAL: _l("License renewals (count: renewals)"),
}

# What each kind of event can change (the services pass these to ``awarding.on_event``).
ON_LOGIN = (LOGIN, ACTIVE_DAYS)
ON_LICENSE_CHANGE = (LICENSE, LEVEL, RENEWAL)

# Short names of what is counted, for a student's progress ("3 of 5 logins").
UNITS = {
    LOGIN: _l("logins"),
    LICENSE: _l("licenses"),
    LEVEL: _l("highest level"),
    REQUIREMENTS: _l("levels complete"),
    CLASS: _l("classes"),
    VERIFIED: _l("checks by others"),
    ACTIVE_DAYS: _l("days in your best month"),
    RENEWAL: _l("renewals"),
}


def _in(column, user_ids: Iterable[int] | None):
    return sa.true() if user_ids is None else column.in_(list(user_ids))


def _grouped(query) -> dict[int, int]:
    return {user_id: int(value) for user_id, value in db.session.execute(query) if value is not None}


def _logins(user_ids):
    return (
        AuditEvent.action == actions.LOGIN,
        AuditEvent.outcome == Outcome.SUCCESS,
        AuditEvent.actor_id.is_not(None),
        _in(AuditEvent.actor_id, user_ids),
    )


def _student_events(action_names: tuple[str, ...], user_ids):
    """(time, student id, resource id, action) of the audit events about a student, in order."""
    student = AuditEvent.details["student_id"].as_integer()
    rows = db.session.execute(
        sa.select(AuditEvent.at, student, AuditEvent.resource_id, AuditEvent.action)
        .where(
            AuditEvent.action.in_(action_names),
            AuditEvent.outcome == Outcome.SUCCESS,
            student.is_not(None),
            _in(student, user_ids),
        )
        .order_by(AuditEvent.seq)
    )
    return [(at, int(s), r, a) for at, s, r, a in rows]


def _levels_completed(user_ids) -> dict[int, int]:
    """Levels whose requirements were all confirmed at one moment, replayed from the trail.
    A level counts with the requirements it has now. A confirmation stored without its
    audit event (written before the trail recorded them, or by the demo) is history too:
    confirmed since its ``confirmed_at`` and never taken back (taking back deletes it)."""
    level_of = dict(db.session.execute(sa.select(Requirement.id, Requirement.level_id)).all())
    needs: dict[int, set[int]] = defaultdict(set)
    for req_id, level_id in level_of.items():
        needs[level_id].add(req_id)
    events = [
        (at, student, int(r), action)
        for at, student, r, action in _student_events(
            (actions.REQUIREMENT_CONFIRMED, actions.REQUIREMENT_UNCONFIRMED), user_ids
        )
        if r and r.isdigit()
    ]
    recorded = {
        (student, req_id)
        for _at, student, req_id, action in events
        if action == actions.REQUIREMENT_CONFIRMED
    }
    stored = db.session.execute(
        sa.select(
            RequirementCompletion.confirmed_at,
            RequirementCompletion.user_id,
            RequirementCompletion.requirement_id,
        ).where(_in(RequirementCompletion.user_id, user_ids))
    )
    events += [
        (at, student, req_id, actions.REQUIREMENT_CONFIRMED)
        for at, student, req_id in stored
        if (student, req_id) not in recorded
    ]
    events.sort(key=lambda event: event[0])  # stable: the trail's order within one moment
    confirmed: dict[int, set[int]] = defaultdict(set)
    complete: dict[int, set[int]] = defaultdict(set)
    for _at, student, req_id, action in events:
        if req_id not in level_of:
            continue  # a requirement removed since
        if action == actions.REQUIREMENT_UNCONFIRMED:
            confirmed[student].discard(req_id)
            continue
        confirmed[student].add(req_id)
        level_id = level_of[req_id]
        if needs[level_id] <= confirmed[student]:
            complete[student].add(level_id)
    return {student: len(levels) for student, levels in complete.items()}


def _classes_joined(user_ids) -> dict[int, int]:
    joined: dict[int, set[str]] = defaultdict(set)
    for _at, student, class_id, _action in _student_events((actions.CLASS_JOINED,), user_ids):
        joined[student].add(class_id)
    return {student: len(classes) for student, classes in joined.items()}


def _best_month(user_ids) -> dict[int, int]:
    """The most days with a login in one calendar month (UTC)."""
    days: dict[int, dict[tuple[int, int], set[int]]] = defaultdict(lambda: defaultdict(set))
    for actor_id, at in db.session.execute(
        sa.select(AuditEvent.actor_id, AuditEvent.at).where(*_logins(user_ids))
    ):
        days[actor_id][(at.year, at.month)].add(at.day)
    return {user: max(len(d) for d in months.values()) for user, months in days.items()}


def measure(
    trigger: str, user_ids: Iterable[int] | None = None, specialization_id: int | None = None
) -> dict[int, int]:
    """{user id: value} for everyone with a value above zero (of ``user_ids``, or all)."""
    holder = License.holder_id
    if trigger == LOGIN:
        return _grouped(
            sa.select(AuditEvent.actor_id, sa.func.count())
            .where(*_logins(user_ids))
            .group_by(AuditEvent.actor_id)
        )
    if trigger == LICENSE:
        return _grouped(
            sa.select(holder, sa.func.count(License.id)).where(_in(holder, user_ids)).group_by(holder)
        )
    if trigger in (LEVEL, RENEWAL):
        value = sa.func.max(LicenseEvent.level) if trigger == LEVEL else sa.func.count(LicenseEvent.id)
        query = (
            sa.select(holder, value)
            .join(LicenseEvent, LicenseEvent.license_id == License.id)
            .where(_in(holder, user_ids))
            .group_by(holder)
        )
        if trigger == RENEWAL:
            query = query.where(LicenseEvent.kind == "renewed")
        if specialization_id is not None:
            query = query.where(License.specialization_id == specialization_id)
        return _grouped(query)
    if trigger == VERIFIED:
        return _grouped(
            sa.select(holder, sa.func.count(CertificateVerification.id))
            .join(License, License.id == CertificateVerification.license_id)
            .where(_in(holder, user_ids))
            .group_by(holder)
        )
    if trigger == REQUIREMENTS:
        return _levels_completed(user_ids)
    if trigger == CLASS:
        return _classes_joined(user_ids)
    if trigger == ACTIVE_DAYS:
        return _best_month(user_ids)
    raise ValueError(f"unknown trigger {trigger!r}")
