"""Administration (admins only, guarded once here)."""
from flask import Blueprint

from portal.permissions import Role, blueprint_guard

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(blueprint_guard(Role.ADMIN))

from portal.admin import routes  # noqa: F401
