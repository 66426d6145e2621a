"""Demo data: a small academy that shows every feature built so far.

Each feature adds its part in its own module. A module's ``seed(ctx)`` schedules what
happened and when on ``ctx.timeline`` (see ``timeline.py``); ``demo()`` then replays the
whole calendar in time order through the real services, so the data is consistent.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models.user import User
from portal.seed.accounts import DEMO_PASSWORD, LOGINS
from portal.seed.timeline import Timeline


@dataclass
class SeedContext:
    users: dict[str, User] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)


def has_users() -> bool:
    return db.session.scalar(sa.select(sa.func.count(User.id))) > 0


# Each step schedules its part; what a scheduled action uses (ctx.users, ctx.objects) must
# have been made at an earlier moment. At the same moment, earlier steps go first.
STEPS = ["catalogue", "accounts", "two_factor", "classes", "licenses", "admin", "history", "achievements",
         "notifications", "privacy", "transparency"]


def demo() -> SeedContext:
    ctx = SeedContext()
    for name in STEPS:
        importlib.import_module(f"portal.seed.{name}").seed(ctx)
    ctx.timeline.run()
    return ctx


def print_logins(echo) -> None:
    echo("")
    echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, note in LOGINS:
        echo(f"  {role:<10} {email:<32} {note}")
    echo("The admin uses two-factor sign-in: after the password, enter the code printed by")
    echo("  flask --app wsgi users totp admin@demo.academy   (demo only)")
    echo(f"Open {current_app.config['PORTAL_BASE_URL']}/auth/login")
    echo("")
