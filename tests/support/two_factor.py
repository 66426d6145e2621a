"""Passing the second step of a login in tests: the code comes from the same function the
demo's ``flask users totp`` command prints (``two_factor.usable_code``)."""
from __future__ import annotations

import sqlalchemy as sa

from portal.auth import two_factor
from portal.db import utcnow
from portal.extensions import db
from portal.models.user import User
from tests.support.polling import wait_until


def code_for(app, email: str) -> str:
    """A TOTP code of ``email`` not used yet. Each code works once: when every step of the
    drift window is used (many logins within a few seconds), this waits for the next step."""

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email.lower()))
        has_app = user is not None and two_factor.has_totp(user)
        db.session.remove()
    assert has_app, f"{email} has no authenticator app to take a code from (a passkey only?)"

    def usable():
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == email.lower()))
            found = two_factor.usable_code(user, earliest=True) if user is not None else None
            db.session.remove()
            return found[0] if found else None

    code = wait_until(usable, timeout=90, step=0.5)
    assert code, f"no two-factor code for {email}"
    return code


def enrol(app, user) -> str:
    """Turn TOTP on for a (factory-made) user through the service; returns the secret."""
    with app.app_context():
        account = db.session.get(User, user.id)
        secret = two_factor.start_enrolment(account)
        two_factor.confirm_enrolment(account, two_factor.code_at(secret, two_factor.step_at(utcnow())))
        db.session.commit()
    return secret
