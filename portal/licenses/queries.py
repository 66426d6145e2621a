"""Read-side helpers: what a user may see, loaded without N+1 queries."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.licenses import rules, visibility
from portal.models.catalogue import Specialization
from portal.models.license import License, LicenseEvent, RequestStatus, UpgradeRequest
from portal.models.user import Role, User
from portal.params import parse_int
from portal.permissions import not_yours

# Built once (a statement's cache key is computed once, not per request).
_LICENSE_WITH_HOLDER = (
    sa.select(License)
    .options(joinedload(License.holder), joinedload(License.specialization))
    .where(License.id == sa.bindparam("license_id"))
)


def owned_license_or_404(license_id: int, user: User) -> License:
    """The license if ``user`` may see it (holder, admin, or an instructor of the holder);
    anyone else gets the same 404 as for a missing license, recorded as a denial."""
    license = db.session.scalar(_LICENSE_WITH_HOLDER, {"license_id": license_id})
    if license is None:
        abort(404)
    if visibility.reader_of(user, license) == visibility.PUBLIC:
        return not_yours()
    return license


def _request_options():
    return (
        joinedload(UpgradeRequest.user),
        joinedload(UpgradeRequest.specialization),
        joinedload(UpgradeRequest.license),
        joinedload(UpgradeRequest.decided_by),
    )


def review_queue(actor: User) -> list[UpgradeRequest]:
    """Pending requests the actor may decide, oldest first."""
    query = (
        sa.select(UpgradeRequest)
        .options(*_request_options())
        .where(UpgradeRequest.status == RequestStatus.PENDING)
        .order_by(UpgradeRequest.created_at, UpgradeRequest.id)
    )
    if actor.role != Role.ADMIN:
        query = query.where(rules.reviewable_by_clause(actor, pending=True))
    return list(db.session.scalars(query))


def recent_decisions(actor: User, limit: int = 10) -> list[UpgradeRequest]:
    query = (
        sa.select(UpgradeRequest)
        .options(*_request_options())
        .where(UpgradeRequest.status.in_([RequestStatus.APPROVED, RequestStatus.REJECTED]))
        .order_by(UpgradeRequest.decided_at.desc(), UpgradeRequest.id.desc())
        .limit(limit)
    )
    if actor.role != Role.ADMIN:
        query = query.where(UpgradeRequest.decided_by_id == actor.id)
    return list(db.session.scalars(query))


def reviewable_request_or_404(request_id: int, actor: User) -> UpgradeRequest:
    """A request the actor may decide (``rules.may_review``); any other answers 404."""
    request = db.session.scalar(
        sa.select(UpgradeRequest).options(*_request_options()).where(UpgradeRequest.id == request_id)
    )
    if request is None:
        abort(404)
    if rules.may_review(actor, request):
        return request
    return not_yours()


def own_request_or_404(request_id: int, user: User) -> UpgradeRequest:
    request = db.get_or_404(UpgradeRequest, request_id)
    if request.user_id != user.id:
        not_yours()
    return request


def licenses_of(user: User) -> list[License]:
    return list(
        db.session.scalars(
            sa.select(License)
            .options(joinedload(License.specialization))
            .where(License.holder_id == user.id)
            .order_by(License.issued_at)
        )
    )


def requests_of(user: User, limit: int = 20) -> list[UpgradeRequest]:
    return list(
        db.session.scalars(
            sa.select(UpgradeRequest)
            .options(*_request_options())
            .where(UpgradeRequest.user_id == user.id)
            .order_by(UpgradeRequest.created_at.desc(), UpgradeRequest.id.desc())
            .limit(limit)
        )
    )


_PENDING_OF_LICENSE = sa.select(UpgradeRequest).where(
    UpgradeRequest.user_id == sa.bindparam("holder_id"),
    UpgradeRequest.specialization_id == sa.bindparam("specialization_id"),
    UpgradeRequest.status == RequestStatus.PENDING,
)


def pending_request_of_license(license: License) -> UpgradeRequest | None:
    return db.session.scalar(
        _PENDING_OF_LICENSE,
        {"holder_id": license.holder_id, "specialization_id": license.specialization_id},
    )


# A license's history as plain rows, newest first: every column (the chain check hashes
# them) and the actor's name. Built once: the license page reads it on every view.
_HISTORY = (
    sa.select(
        LicenseEvent.id, LicenseEvent.license_id, LicenseEvent.seq, LicenseEvent.kind,
        LicenseEvent.level, LicenseEvent.status, LicenseEvent.expires_at, LicenseEvent.actor_id,
        LicenseEvent.at, LicenseEvent.note, LicenseEvent.reason, LicenseEvent.prev_hash,
        LicenseEvent.hash, User.name.label("actor_name"),
    )
    .outerjoin(User, User.id == LicenseEvent.actor_id)
    .where(LicenseEvent.license_id == sa.bindparam("license_id"))
    .order_by(LicenseEvent.seq.desc())
)


def history_of(license: License) -> list[sa.Row]:
    """The license's history rows, newest first, each with ``actor_name``."""
    return list(db.session.execute(_HISTORY, {"license_id": license.id}))


@dataclass(frozen=True)
class SpecChoice:
    """One specialization in the student's picker, with why it cannot be chosen (None: it can)."""

    spec: Specialization
    unavailable: str | None


def specialization_choices(user: User) -> list[SpecChoice]:
    """Every specialization on offer, each with the reason the student may not start it now
    (already held, a start request pending, too young...), so the picker hides none."""
    held = set(db.session.scalars(sa.select(License.specialization_id).where(License.holder_id == user.id)))
    asked = {
        r.specialization_id: r
        for r in db.session.scalars(
            sa.select(UpgradeRequest).where(
                UpgradeRequest.user_id == user.id, UpgradeRequest.status == RequestStatus.PENDING
            )
        )
    }
    choices = []
    for spec in db.session.scalars(
        sa.select(Specialization)
        .options(selectinload(Specialization.levels))
        .where(Specialization.archived_at.is_(None))
        .order_by(Specialization.name)
    ):
        if spec.id in held:
            why = _("You already hold a %(specialization)s license.", specialization=spec.local_name)
        elif spec.id in asked:
            why = _("You already asked to start %(specialization)s; see your requests below.",
                    specialization=spec.local_name)
        elif problem := rules.eligibility_problem(user, spec, consent=False):
            why = problem.to_student()
        else:
            why = None
        choices.append(SpecChoice(spec, why))
    return choices


def specialization_by_code_or_id(value: str) -> Specialization | None:
    value = (value or "").strip()
    if (spec_id := parse_int(value)) is not None:
        return db.session.get(Specialization, spec_id)
    return db.session.scalar(sa.select(Specialization).where(Specialization.code == value.upper()))


def requirements_for(requests: list[UpgradeRequest]) -> dict[int, rules.RequirementRows]:
    """Request id -> the requirements of the level it asks for, with the student's
    completions; two queries for all the requests."""
    gates = {r.id: rules.requirements_gate(r) for r in requests}
    rows = rules.requirement_rows(
        (r.user_id, r.specialization_id, gates[r.id]) for r in requests if gates[r.id] is not None
    )
    return {
        r.id: rows[(r.user_id, r.specialization_id, gates[r.id])] if gates[r.id] is not None else []
        for r in requests
    }
