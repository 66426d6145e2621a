"""My account: profile, e-mail address, and links to the other account pages (SPEC §8)."""
from flask import Blueprint, request

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


from portal.account import routes  # noqa: E402,F401
