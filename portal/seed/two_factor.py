"""The demo's two-factor sign-in: the admin uses an authenticator app (admins must).

Its codes come from ``flask --app wsgi users totp admin@demo.academy`` (demo only), as
the printed logins say; the other demo accounts log in with the password alone."""
from __future__ import annotations

from portal.auth import two_factor
from portal.db import utcnow

ENROLLED = ("admin",)


def enrol(user) -> None:
    secret = two_factor.start_enrolment(user)
    step = two_factor.step_at(utcnow())
    two_factor.confirm_enrolment(user, two_factor.code_at(secret, step))


def seed(ctx) -> None:
    timeline = ctx.timeline
    for key in ENROLLED:
        # A week after the account was made: the admin set up the app then.
        timeline.at(timeline.ago(days=420), lambda key=key: enrol(ctx.users[key]))
