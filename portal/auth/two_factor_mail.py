"""Mail to the owner about each change of their two-factor sign-in (SPEC §9).

Plain mail through the shared helpers, in the owner's language; the notifications
issue routes these as ``security`` later."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal import mail
from portal.auth.tokens import absolute_url, compose
from portal.db import utcnow
from portal.models.user import User

SUBJECTS = {
    "enabled": _l("Two-factor sign-in is on for your account"),
    "disabled": _l("Two-factor sign-in is off for your account"),
    "codes_regenerated": _l("You have new recovery codes"),
    "recovery_code_used": _l("A recovery code was used on your account"),
    "reset": _l("An admin reset two-factor sign-in on your account"),
}


def send_change_notice(user: User, change: str, **context) -> bool:
    """Tell the owner what changed (``change`` is a key of ``SUBJECTS``); after commit."""
    subject, text = compose(
        "two_factor_changed", SUBJECTS[change], user,
        user=user, change=change, when=utcnow(), page_url=absolute_url("account.two_factor"),
        forgot_url=absolute_url("auth.forgot_password"), **context,
    )
    return mail.send(user.email, subject, text)
