"""The audit trail's pages. Admins only, except ``/audit/mine`` (any logged-in user)."""
from flask import Blueprint, request

from portal.permissions import Role, blueprint_guard

bp = Blueprint("audit", __name__, url_prefix="/audit")

_admin_guard = blueprint_guard(Role.ADMIN)
_user_guard = blueprint_guard(*Role.ALL)

# Endpoints every logged-in user may open; everything else here is admin-only.
OPEN_TO_ALL = {"audit.mine"}


@bp.before_request
def guard():
    if request.endpoint in OPEN_TO_ALL:
        return _user_guard()
    return _admin_guard()


from portal.audit import routes  # noqa: F401
