"""Demo data: a small academy that shows every feature built so far.

Each feature adds its part in its own module; ``demo()`` calls them in order.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models.user import User
from portal.seed.accounts import DEMO_PASSWORD, LOGINS


@dataclass
class SeedContext:
    users: dict[str, User] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)


def has_users() -> bool:
    return db.session.scalar(sa.select(sa.func.count(User.id))) > 0


# In order: each step may use what the earlier ones made (ctx.users, ctx.objects).
STEPS = ["accounts", "catalogue", "licenses", "classes", "admin", "history"]


def demo() -> SeedContext:
    ctx = SeedContext()
    for name in STEPS:
        module = importlib.import_module(f"portal.seed.{name}")
        module.seed(ctx)
        db.session.flush()
    return ctx


def print_logins(echo) -> None:
    echo("")
    echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, note in LOGINS:
        echo(f"  {role:<10} {email:<32} {note}")
    echo(f"Open {current_app.config['PORTAL_BASE_URL']}/auth/login")
    echo("")
