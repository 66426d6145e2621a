"""Demo licenses, requests and requirement completions in every state, over the past year."""

from __future__ import annotations

import sqlalchemy as sa

from portal.classes import services as classes
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import reviews, services
from portal.models.catalogue import Level, Requirement, RequirementCompletion


def _requirements(spec, level: int) -> list[Requirement]:
    return db.session.scalars(
        sa.select(Requirement)
        .join(Level)
        .where(Level.specialization_id == spec.id, Level.number == level)
        .order_by(Requirement.position)
    ).all()


def _confirm(student, spec, level: int, by, count: int | None = None) -> None:
    """Record that an instructor confirmed the first ``count`` requirements of a level."""
    for requirement in _requirements(spec, level)[:count]:
        db.session.add(
            RequirementCompletion(
                user_id=student.id, requirement_id=requirement.id, confirmed_by_id=by.id,
                confirmed_at=utcnow(),
            )
        )


def _climb(license, decider, reason: str = "Ready for the next level") -> None:
    """Raise a license one level through a real request and its approval."""
    request = reviews.request_upgrade(license, reason, license.holder)
    reviews.approve_request(request, decider, note="Assessed during the season")


def seed(ctx) -> None:
    users, licenses = ctx.users, {}
    ctx.objects["licenses"] = licenses

    def spec(code):
        return ctx.objects["specializations"][code]

    def u(name):
        return users[name]

    # (days ago, what happened), in any order: the timeline sorts them.
    story = [
        # Maya: Player from level 1 to 4 over the year (active), working toward 5.
        (416, lambda: licenses.__setitem__(
            "maya.player", services.select_specialization(u("maya"), spec("PLY"), u("maya")).license)),
        (415, lambda: _confirm(u("maya"), spec("PLY"), 1, u("coach.rivera"))),
        (340, lambda: _confirm(u("maya"), spec("PLY"), 2, u("coach.rivera"))),
        (335, lambda: _climb(licenses["maya.player"], u("admin"))),
        (260, lambda: _confirm(u("maya"), spec("PLY"), 3, u("coach.rivera"))),
        (255, lambda: _climb(licenses["maya.player"], u("admin"))),
        (130, lambda: _confirm(u("maya"), spec("PLY"), 4, u("coach.rivera"))),
        (125, lambda: _climb(licenses["maya.player"], u("admin"))),
        (30, lambda: _confirm(u("maya"), spec("PLY"), 5, u("coach.rivera"), count=1)),
        # Maya: Coach level 2, suspended when her first-aid certificate lapsed.
        (320, lambda: _confirm(u("maya"), spec("COA"), 1, u("coach.okafor"))),
        (318, lambda: licenses.__setitem__(
            "maya.coach", services.select_specialization(u("maya"), spec("COA"), u("maya")).license)),
        (200, lambda: _confirm(u("maya"), spec("COA"), 2, u("coach.okafor"))),
        (195, lambda: _climb(licenses["maya.coach"], u("admin"))),
        (12, lambda: services.suspend(
            licenses["maya.coach"], u("admin"),
            "First-aid certificate lapsed; send the renewed certificate to reinstate.")),
        # Maya: an Internship placement for a fixed term, which ended three days ago.
        (240, lambda: _placement(ctx, licenses)),
        (3, lambda: services.expire_due()),
        # Liam: Player level 2, a pending request for level 3 (requirements partly met).
        (398, lambda: licenses.__setitem__(
            "liam.player", services.select_specialization(u("liam"), spec("PLY"), u("liam")).license)),
        (397, lambda: _confirm(u("liam"), spec("PLY"), 1, u("coach.rivera"))),
        (205, lambda: _confirm(u("liam"), spec("PLY"), 2, u("coach.rivera"))),
        (200, lambda: _climb(licenses["liam.player"], u("admin"))),
        (20, lambda: _confirm(u("liam"), spec("PLY"), 3, u("coach.rivera"), count=2)),
        (2, lambda: reviews.request_upgrade(
            licenses["liam.player"], "I passed the positional play assessment and the beep test.",
            u("liam"))),
        # Sofía (16): guardian consent recorded by an admin, then a Player license.
        (295, lambda: services.record_guardian_consent(u("sofia"), u("admin"), "Lucía Martínez")),
        (285, lambda: _confirm(u("sofia"), spec("PLY"), 1, u("coach.rivera"), count=2)),
        (280, lambda: licenses.__setitem__(
            "sofia.player", services.select_specialization(u("sofia"), spec("PLY"), u("sofia")).license)),
        (60, lambda: classes.confirm_requirement(
            u("sofia"), _requirements(spec("PLY"), 2)[0], actor=u("coach.rivera"))),
        # Emma: a Coach license revoked (issued in error), a Player request rejected yesterday.
        (375, lambda: licenses.__setitem__(
            "emma.coach", services.select_specialization(u("emma"), spec("COA"), u("emma")).license)),
        (360, lambda: services.revoke(
            licenses["emma.coach"], u("admin"), "error",
            "Issued before the safeguarding course was completed.")),
        (370, lambda: licenses.__setitem__(
            "emma.player", services.select_specialization(u("emma"), spec("PLY"), u("emma")).license)),
        (50, lambda: classes.confirm_requirement(
            u("emma"), _requirements(spec("PLY"), 2)[0], actor=u("coach.rivera"))),
        (20, lambda: classes.confirm_requirement(
            u("emma"), _requirements(spec("PLY"), 2)[1], actor=u("coach.rivera"))),
        (4, lambda: ctx.objects.__setitem__("emma.request", reviews.request_upgrade(
            licenses["emma.player"], "I would like to move up.", u("emma")))),
        (1, lambda: reviews.reject_request(
            ctx.objects["emma.request"], u("coach.rivera"),
            "Play your five supervised matches in the league first.")),
        # Eszter (reads Hungarian, in Budapest): Player level 2, active; her certificate is
        # the demo's Hungarian one.
        (340, lambda: licenses.__setitem__(
            "eszter.player", services.select_specialization(u("eszter"), spec("PLY"), u("eszter")).license)),
        (339, lambda: _confirm(u("eszter"), spec("PLY"), 1, u("coach.rivera"))),
        (150, lambda: _confirm(u("eszter"), spec("PLY"), 2, u("coach.rivera"))),
        (145, lambda: _climb(licenses["eszter.player"], u("admin"))),
        # Mateo (reads Spanish, in Mexico City): Player level 1, working toward level 2.
        (190, lambda: licenses.__setitem__(
            "mateo.player", services.select_specialization(u("mateo"), spec("PLY"), u("mateo")).license)),
        (189, lambda: _confirm(u("mateo"), spec("PLY"), 1, u("coach.rivera"))),
        (40, lambda: classes.confirm_requirement(
            u("mateo"), _requirements(spec("PLY"), 2)[0], actor=u("coach.rivera"))),
        # Emma also waits for an admin to admit her to the Internship.
        (6, lambda: services.select_specialization(u("emma"), spec("INT"), u("emma"))),
    ]
    for days, action in story:
        ctx.timeline.at(ctx.timeline.ago(days=days), action)


def _placement(ctx, licenses) -> None:
    """An admin admits Maya to a placement that runs until three days ago."""
    maya, admin = ctx.users["maya"], ctx.users["admin"]
    license = services.issue_license(maya, ctx.objects["specializations"]["INT"], 1, admin)
    license.expires_at = ctx.timeline.ago(days=3)  # placements run for a fixed term
    licenses["maya.internship"] = license
