"""The class tests' shared cast: the Player specialization and Carla, who an admin
assigned to teach it."""
from __future__ import annotations

import pytest


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)


@pytest.fixture
def teacher(make_user, assign, spec):
    user = make_user("instructor", name="Carla Rivera")
    assign(user, spec)
    return user
