"""The rebuild on the demo and on a small scale academy: consistent, so it changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from portal.achievements import rules, services
from portal.extensions import db
from portal.models import Achievement, Award, User
from portal.seed.achievements import SET


def awards(app) -> list[tuple[int, int]]:
    with app.app_context():
        return db.session.execute(sa.select(Award.user_id, Award.achievement_id).order_by(Award.id)).all()


def test_demo_is_consistent_and_shows_every_state(app, runner):
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    before = awards(app)
    result = runner.invoke(args=["achievements", "rebuild"])
    assert result.exit_code == 0 and "Every award matches the history." in result.output, result.output
    assert awards(app) == before
    with app.app_context():
        titles = {a.title: a for a in db.session.scalars(sa.select(Achievement))}
        assert set(titles) == {row[0]["en"][0] for row in SET}
        assert (titles["First login"].xp, titles["First license"].xp) == (10, 50)
        assert titles["Pioneer"].archived_at is not None
        maya = db.session.scalar(sa.select(User).where(User.email == "maya@demo.academy"))
        earned = {p.achievement.title for p in services.overview(maya).earned}
        assert {"First login", "First license", "Level 2", "Every box ticked", "Trusted", "Pioneer"} <= earned
        assert services.overview(maya).open  # and some still open
        emma = db.session.scalar(sa.select(User).where(User.email == "emma@demo.academy"))
        assert emma.show_achievements is False
        # Everything earned is explained by history, and each trigger earned someone something.
        earned_triggers = set(
            db.session.scalars(
                sa.select(Achievement.trigger).join(Award, Award.achievement_id == Achievement.id)
            )
        )
        assert earned_triggers == set(rules.TRIGGERS), earned_triggers


def test_scale_academy_is_consistent(app, runner, make_achievement):
    result = runner.invoke(args=["seed", "scale", "--students", "200", "--audit-events", "2000"])
    assert result.exit_code == 0, result.output
    for words, icon, xp, trigger, count, spec in SET:
        if spec is None:
            make_achievement(words["en"][0], trigger, count, xp=xp, icon=icon)
    given = awards(app)
    assert len(given) > 200  # everyone who reached one earned it when it was defined
    result = runner.invoke(args=["achievements", "rebuild"])
    assert result.exit_code == 0 and "Every award matches the history." in result.output, result.output
    assert awards(app) == given
