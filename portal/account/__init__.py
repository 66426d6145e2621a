"""My account: profile, e-mail address, and links to the other account pages (SPEC §8)."""
from flask import Blueprint, request

from portal.db import utcnow
from portal.licenses.rules import ADULT_AGE
from portal.permissions import Role, blueprint_guard

bp = Blueprint("account", __name__, url_prefix="/account")

# The links mailed about a change of address work without a session: they are often
# opened in another browser, and the token names the account.
PUBLIC = {"account.confirm_email", "account.cancel_email"}
_signed_in = blueprint_guard(*Role.ALL)


@bp.before_request
def guard():
    if request.endpoint in PUBLIC:
        return None
    return _signed_in()


@bp.app_template_test("minor")
def is_minor(user) -> bool:
    """``{% if student is minor %}``: a student under 18 today (guardian consent applies)."""
    age = user.age_on(utcnow().date()) if user is not None else None
    return getattr(user, "role", None) == Role.STUDENT and age is not None and age < ADULT_AGE


from portal.account import passkey_routes, privacy, routes, two_factor  # noqa: E402,F401
