"""Administration (admins only, guarded once here)."""
from flask import Blueprint

from portal.permissions import Role, blueprint_guard

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(blueprint_guard(Role.ADMIN))

# The route modules add their views to ``bp``, so they are imported once it exists.
from portal.admin import catalogue, hub, jobs, licenses, users  # noqa: E402,F401
