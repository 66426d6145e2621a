"""Awarding, in the transaction of the event that earns it.

The services that change what an achievement measures call ``on_event(user, trigger ...)``
once, after recording their change (login, a license change, a requirement confirmed, a
class joined, a certificate checked). It awards every open achievement of those triggers
that the person's history now reaches. It imports no feature, so any service may call it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.achievements import rules
from portal.db import utcnow
from portal.extensions import db
from portal.models.achievement import Achievement, Award
from portal.models.notification import Category
from portal.notifications.services import notify

# The XP level table (published in the README): the XP each level starts at.
XP_LEVELS = (0, 50, 150, 300, 500, 800, 1200, 1700, 2300, 3000)


def xp_level(xp: int) -> tuple[int, int | None]:
    """(the XP level reached with ``xp``, the XP the next one starts at, or None at the top)."""
    level = sum(1 for start in XP_LEVELS if xp >= start)
    return level, XP_LEVELS[level] if level < len(XP_LEVELS) else None


def give(user_id: int, achievement: Achievement) -> Award | None:
    """Record the award unless the person already has it (the unique pair decides a race)."""
    award = Award(user_id=user_id, achievement_id=achievement.id, earned_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(award)
            db.session.flush()
    except IntegrityError:
        return None
    return award


def on_event(user, *triggers: str) -> list[Award]:
    """Award ``user`` every open, unarchived achievement of ``triggers`` now reached.
    Called inside the caller's transaction; never commits. Returns the new awards."""
    if user is None or user.id is None:
        return []
    earned = sa.select(Award.achievement_id).where(Award.user_id == user.id)
    open_ones = db.session.scalars(
        sa.select(Achievement)
        .where(
            Achievement.trigger.in_(triggers),
            Achievement.archived_at.is_(None),
            Achievement.id.not_in(earned),
        )
        .order_by(Achievement.id)
    ).all()
    new: list[Award] = []
    values: dict[tuple[str, int | None], int] = {}
    for achievement in open_ones:
        key = (achievement.trigger, achievement.specialization_id)
        if key not in values:
            values[key] = rules.measure(achievement.trigger, [user.id], achievement.specialization_id).get(
                user.id, 0
            )
        if values[key] >= achievement.count and (award := give(user.id, achievement)) is not None:
            new.append(award)
            if user.show_achievements:
                notify(user, Category.ACHIEVEMENTS, "achievement_earned", achievement_id=achievement.id,
                       xp=achievement.xp)
    return new
