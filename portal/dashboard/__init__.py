"""The role-aware dashboard."""
from flask import Blueprint

from portal.permissions import Role, blueprint_guard

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
bp.before_request(blueprint_guard(*Role.ALL))

from portal.dashboard import routes  # noqa: F401
