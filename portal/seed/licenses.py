"""Demo licenses, requests and requirement completions in every state."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.licenses import reviews, services
from portal.models.catalogue import Level, Requirement, RequirementCompletion


def _confirm(student, spec, level: int, by, count: int | None = None) -> None:
    """Record that an instructor confirmed the first ``count`` requirements of a level."""
    requirements = db.session.scalars(
        sa.select(Requirement)
        .join(Level)
        .where(Level.specialization_id == spec.id, Level.number == level)
        .order_by(Requirement.position)
    ).all()
    for requirement in requirements[:count]:
        db.session.add(
            RequirementCompletion(
                user_id=student.id,
                requirement_id=requirement.id,
                confirmed_by_id=by.id,
                confirmed_at=utcnow() - timedelta(days=30),
            )
        )
    db.session.flush()


def _climb(license, to_level: int, decider, reason: str = "Ready for the next level") -> None:
    """Raise a license level by level through real requests and approvals."""
    while license.level < to_level:
        request = reviews.request_upgrade(license, reason, license.holder)
        reviews.approve_request(request, decider, note="Assessed during the season")


def seed(ctx) -> None:
    users, specs = ctx.users, ctx.objects["specializations"]
    admin, rivera, okafor = users["admin"], users["coach.rivera"], users["coach.okafor"]
    ply, coa, intern = specs["PLY"], specs["COA"], specs["INT"]
    licenses: dict[str, object] = {}

    # Maya: Player level 4 (active), Coach level 2 (suspended), Internship level 1 (expired).
    maya = users["maya"]
    for level in range(1, 5):
        _confirm(maya, ply, level, rivera)
    _confirm(maya, ply, 5, rivera, count=1)
    licenses["maya.player"] = lic = services.select_specialization(maya, ply, maya).license
    _climb(lic, 4, admin)
    _confirm(maya, coa, 1, okafor)
    _confirm(maya, coa, 2, okafor)
    licenses["maya.coach"] = lic = services.select_specialization(maya, coa, maya).license
    _climb(lic, 2, admin)
    services.suspend(lic, admin, "First-aid certificate lapsed; send the renewed certificate to reinstate.")
    licenses["maya.internship"] = lic = services.issue_license(maya, intern, 1, admin)
    lic.expires_at = utcnow() - timedelta(days=3)  # placements run for a fixed term
    db.session.flush()
    services.expire_due()

    # Liam: Player level 2 with a pending request for level 3 (requirements partly met).
    liam = users["liam"]
    _confirm(liam, ply, 1, rivera)
    _confirm(liam, ply, 2, rivera)
    _confirm(liam, ply, 3, rivera, count=2)
    licenses["liam.player"] = lic = services.select_specialization(liam, ply, liam).license
    _climb(lic, 2, admin)
    reviews.request_upgrade(lic, "I passed the positional play assessment and the beep test.", liam)

    # Sofía (16): guardian consent recorded by an admin, then a Player license.
    sofia = users["sofia"]
    services.record_guardian_consent(sofia, admin, "Lucía Martínez")
    _confirm(sofia, ply, 1, rivera, count=2)
    licenses["sofia.player"] = services.select_specialization(sofia, ply, sofia).license

    # Emma: a revoked Coach license, and a rejected Player request.
    emma = users["emma"]
    licenses["emma.coach"] = lic = services.select_specialization(emma, coa, emma).license
    services.revoke(lic, admin, "error", "Issued before the safeguarding course was completed.")
    licenses["emma.player"] = lic = services.select_specialization(emma, ply, emma).license
    request = reviews.request_upgrade(lic, "I would like to move up.", emma)
    reviews.reject_request(request, admin, "Play your five supervised matches first.")
    # Emma also waits for an admin to admit her to the Internship.
    services.select_specialization(emma, intern, emma)

    ctx.objects["licenses"] = licenses
