"""Achievement definitions (admin), the rebuild, the person's switch, and what a student
and a class summary show. Awarding itself is ``portal.achievements.awarding``."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.achievements import icons, rules
from portal.achievements.awarding import give, xp_level
from portal.admin import titles as catalogue_titles
from portal.audit import actions
from portal.audit.services import record
from portal.db import apply_changes, utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.models.achievement import Achievement, Award
from portal.models.catalogue import Specialization
from portal.models.klass import ClassMembership, Klass
from portal.models.user import User


class AchievementError(PortalError):
    """A refused change to a definition; ``field`` names the form field."""


# -- definitions --------------------------------------------------------------------------


def earned_count(achievement: Achievement) -> int:
    return db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.achievement_id == achievement.id))


def _clean(data: dict) -> dict:
    trigger = data["trigger"]
    if trigger not in rules.TRIGGERS:
        raise AchievementError(_("Choose a trigger from the list."), field="trigger")
    if data["icon"] not in icons.ICONS:
        raise AchievementError(_("Choose an icon from the set."), field="icon")
    spec_id = data.get("specialization_id") or None
    if spec_id is not None and trigger != rules.LEVEL:
        raise AchievementError(
            _("Only a level reached can be limited to one specialization."), field="specialization_id"
        )
    if spec_id is not None:
        spec = db.session.get(Specialization, spec_id)
        if spec is None:
            raise AchievementError(_("Choose a specialization from the list."), field="specialization_id")
        if data["count"] > spec.max_level:
            raise AchievementError(
                _(
                    "%(specialization)s has levels 1 to %(top)d.",
                    specialization=spec.local_name,
                    top=spec.max_level,
                ),
                field="count",
            )
    return {
        "title": " ".join((data["title"] or "").split()),
        "description": " ".join((data.get("description") or "").split()),
        "titles": catalogue_titles.clean(data.get("titles")),
        "descriptions": catalogue_titles.clean(data.get("descriptions")),
        "icon": data["icon"],
        "xp": int(data["xp"]),
        "trigger": trigger,
        "count": int(data["count"]),
        "specialization_id": spec_id,
    }


def snapshot(achievement: Achievement) -> dict:
    return {
        "title": achievement.title,
        "xp": achievement.xp,
        "trigger": achievement.trigger,
        "count": achievement.count,
        "specialization_id": achievement.specialization_id,
    }


def award_all_reached(achievement: Achievement) -> int:
    """Award everyone whose history already reaches an (unarchived) achievement: a new
    definition counts what happened before it, as the rebuild does. Returns how many."""
    if achievement.archived_at is not None:
        return 0
    db.session.flush()
    have = set(db.session.scalars(sa.select(Award.user_id).where(Award.achievement_id == achievement.id)))
    values = rules.measure(achievement.trigger, None, achievement.specialization_id)
    given = 0
    for user_id in sorted(values):
        if values[user_id] >= achievement.count and user_id not in have:
            given += give(user_id, achievement) is not None
    return given


def create_achievement(data: dict, actor) -> Achievement:
    """Define an achievement; everyone who already reached it earns it now.
    Raises AchievementError for a trigger, icon or specialization not on the lists."""
    achievement = Achievement(**_clean(data), created_at=utcnow())
    db.session.add(achievement)
    db.session.flush()
    awarded = award_all_reached(achievement)
    record(actor, actions.ACHIEVEMENT_CREATED, achievement, after=snapshot(achievement), awarded=awarded)
    return achievement


def update_achievement(achievement: Achievement, data: dict, actor) -> Achievement:
    """Change a definition. Once someone earned it, what earns it (trigger, count,
    specialization) stays: archive it and define a new one instead. Raises AchievementError."""
    values = _clean(data)
    earned = earned_count(achievement) > 0
    if earned and any(
        values[key] != getattr(achievement, key) for key in ("trigger", "count", "specialization_id")
    ):
        raise AchievementError(
            _(
                "Someone has earned this achievement, so what earns it cannot change. "
                "Archive it and define a new one."
            ),
            field="trigger",
        )
    before, after = apply_changes(achievement, values)
    if not after:
        return achievement
    awarded = award_all_reached(achievement)
    record(actor, actions.ACHIEVEMENT_UPDATED, achievement, before=before, after=after, awarded=awarded)
    return achievement


def archive_achievement(achievement: Achievement, actor) -> None:
    """No one earns it any more; those who did keep it and its XP."""
    if achievement.archived_at is None:
        achievement.archived_at = utcnow()
        record(actor, actions.ACHIEVEMENT_ARCHIVED, achievement)


def restore_achievement(achievement: Achievement, actor) -> int:
    """Offer it again; everyone who reached it meanwhile earns it now. Returns how many."""
    if achievement.archived_at is None:
        return 0
    achievement.archived_at = None
    awarded = award_all_reached(achievement)
    record(actor, actions.ACHIEVEMENT_RESTORED, achievement, awarded=awarded)
    return awarded


def delete_achievement(achievement: Achievement, actor) -> None:
    """Delete a definition no one has earned. Raises AchievementError once earned (archive it)."""
    if earned_count(achievement):
        raise AchievementError(_("Someone has earned this achievement: archive it instead of deleting it."))
    record(actor, actions.ACHIEVEMENT_DELETED, achievement, before=snapshot(achievement))
    db.session.delete(achievement)


def definitions(*, archived: bool | None = None) -> list[tuple[Achievement, int]]:
    """Every definition with how many earned it, active ones first."""
    counts = (
        sa.select(Award.achievement_id, sa.func.count(Award.id).label("n"))
        .group_by(Award.achievement_id)
        .subquery()
    )
    query = (
        sa.select(Achievement, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.achievement_id == Achievement.id)
        .order_by(
            Achievement.archived_at.is_not(None), Achievement.trigger, Achievement.count, Achievement.id
        )
    )
    if archived is not None:
        query = query.where(
            Achievement.archived_at.is_not(None) if archived else Achievement.archived_at.is_(None)
        )
    return [(a, n) for a, n in db.session.execute(query)]


# -- the rebuild ----------------------------------------------------------------------


@dataclass
class Difference:
    achievement: Achievement
    missing: list[int] = field(default_factory=list)  # history reaches it, no award
    unexplained: list[int] = field(default_factory=list)  # an award history does not explain


def rebuild(*, fix: bool = False, actor=None) -> list[Difference]:
    """Recompute every award from the audit trail, license history and verifications and
    compare with the awards stored. Changes nothing unless ``fix``: then the missing awards
    are given (an award is never taken back; unexplained ones are only reported)."""
    differences = []
    measured: dict[tuple[str, int | None], dict[int, int]] = {}
    for achievement in db.session.scalars(sa.select(Achievement).order_by(Achievement.id)):
        key = (achievement.trigger, achievement.specialization_id)
        if key not in measured:
            measured[key] = rules.measure(achievement.trigger, None, achievement.specialization_id)
        values = measured[key]
        reached = {user_id for user_id, value in values.items() if value >= achievement.count}
        have = set(db.session.scalars(sa.select(Award.user_id).where(Award.achievement_id == achievement.id)))
        missing = sorted(reached - have) if achievement.archived_at is None else []
        unexplained = sorted(have - reached)
        if missing or unexplained:
            differences.append(Difference(achievement, missing, unexplained))
    if fix and (given := sum(len(d.missing) for d in differences)):
        for difference in differences:
            for user_id in difference.missing:
                give(user_id, difference.achievement)
        record(actor, actions.ACHIEVEMENTS_REBUILT, None, awarded=given)
    return differences


# -- what the person sees, and hides --------------------------------------------------------


def set_shown(user: User, show: bool, actor) -> bool:
    """Show or hide the person's achievements, XP and level. Returns whether it changed."""
    if user.show_achievements == bool(show):
        return False
    user.show_achievements = bool(show)
    record(actor, actions.USER_ACHIEVEMENTS_SHOWN, user, shown=bool(show))
    return True


@dataclass
class Progress:
    achievement: Achievement
    value: int
    earned_at: object = None

    @property
    def shown_value(self) -> int:
        return min(self.value, self.achievement.count)


@dataclass
class Overview:
    earned: list[Progress]
    open: list[Progress]
    xp: int
    level: int
    next_level_xp: int | None

    @property
    def newest(self) -> Progress | None:
        return self.earned[0] if self.earned else None


def overview(user: User) -> Overview:
    """A person's earned achievements (newest first), the open ones with their progress,
    XP and XP level. Archived achievements show only when earned."""
    awards = db.session.execute(
        sa.select(Award, Achievement)
        .join(Achievement, Achievement.id == Award.achievement_id)
        .where(Award.user_id == user.id)
        .order_by(Award.earned_at.desc(), Award.id.desc())
    ).all()
    earned = [Progress(a, a.count, award.earned_at) for award, a in awards]
    earned_ids = {p.achievement.id for p in earned}
    open_ones = [
        a
        for a in db.session.scalars(
            sa.select(Achievement)
            .where(Achievement.archived_at.is_(None))
            .order_by(Achievement.xp, Achievement.id)
        )
        if a.id not in earned_ids
    ]
    values: dict[tuple[str, int | None], int] = {}
    progress = []
    for a in open_ones:
        key = (a.trigger, a.specialization_id)
        if key not in values:
            values[key] = rules.measure(a.trigger, [user.id], a.specialization_id).get(user.id, 0)
        progress.append(Progress(a, values[key]))
    xp = sum(p.achievement.xp for p in earned)
    level, next_xp = xp_level(xp)
    return Overview(earned, progress, xp, level, next_xp)


# The newest award with the XP of all the student's awards beside it (a window sum, taken
# before the limit): one statement, built once, for the dashboard.
_NEWEST_AWARD = (
    sa.select(Award, Achievement, sa.func.sum(Achievement.xp).over().label("xp"))
    .join(Achievement, Achievement.id == Award.achievement_id)
    .where(Award.user_id == sa.bindparam("user_id"))
    .order_by(Award.earned_at.desc(), Award.id.desc())
    .limit(1)
)


def newest_award(user: User) -> tuple[int, int, Progress | None]:
    """(XP, XP level, the newest award) for the dashboard, in one small query."""
    row = db.session.execute(_NEWEST_AWARD, {"user_id": user.id}).first()
    if row is None:
        return 0, xp_level(0)[0], None
    award, achievement, xp = row
    xp = int(xp or 0)
    return xp, xp_level(xp)[0], Progress(achievement, achievement.count, award.earned_at)


# -- a class's summary (counts only) ----------------------------------------------------------


def set_class_summary(klass: Klass, on: bool, actor) -> bool:
    """Let the class's instructor see how many students earned each achievement (never who)."""
    if klass.achievements_summary == bool(on):
        return False
    klass.achievements_summary = bool(on)
    record(actor, actions.CLASS_ACHIEVEMENT_SUMMARY, klass, on=bool(on))
    return True


def class_summary(klass: Klass) -> list[tuple[Achievement, int]]:
    """How many current members earned each achievement; members who hide theirs are not
    counted. Names never appear."""
    members = (
        sa.select(ClassMembership.user_id)
        .join(User, User.id == ClassMembership.user_id)
        .where(ClassMembership.class_id == klass.id, User.show_achievements.is_(True))
    )
    counts = dict(
        db.session.execute(
            sa.select(Award.achievement_id, sa.func.count(Award.id))
            .where(Award.user_id.in_(members))
            .group_by(Award.achievement_id)
        ).all()
    )
    return [
        (a, counts.get(a.id, 0))
        for a in db.session.scalars(
            sa.select(Achievement)
            .where(sa.or_(Achievement.archived_at.is_(None), Achievement.id.in_(list(counts))))
            .order_by(Achievement.xp, Achievement.id)
        )
    ]
