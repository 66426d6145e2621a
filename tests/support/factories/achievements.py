"""``make_achievement``: a definition made through the real service (it awards everyone who
already reached it), and ``awards_of``: the achievements a person holds, by title."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.achievements import services
from portal.extensions import db
from portal.models.achievement import Achievement, Award
from tests.support.factories.users import detach


@pytest.fixture
def make_achievement(app):
    def make(
        title: str,
        trigger: str,
        count: int = 1,
        *,
        xp: int = 10,
        icon: str = "star",
        specialization=None,
        **fields,
    ) -> Achievement:
        with app.app_context():
            data = {
                "title": title,
                "description": fields.pop("description", ""),
                "icon": icon,
                "xp": xp,
                "trigger": trigger,
                "count": count,
                "specialization_id": specialization.id if specialization is not None else None,
                **fields,
            }
            achievement = services.create_achievement(data, None)
            db.session.commit()
            return detach(achievement)

    return make


@pytest.fixture
def awards_of(app):
    def get(user) -> set[str]:
        with app.app_context():
            return set(
                db.session.scalars(
                    sa.select(Achievement.title)
                    .join(Award, Award.achievement_id == Achievement.id)
                    .where(Award.user_id == user.id)
                )
            )

    return get
