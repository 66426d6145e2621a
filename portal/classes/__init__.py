"""Classes: instructors run them and confirm their students' requirements; students
join them with a code and leave them."""
from flask import Blueprint

from portal.permissions import Role, blueprint_guard

STAFF = (Role.INSTRUCTOR, Role.ADMIN)

bp = Blueprint("classes", __name__, url_prefix="/dashboard")
# Staff only, except the class list (everyone sees their own) and a student's join and leave.
bp.before_request(
    blueprint_guard(
        *STAFF,
        exceptions={
            "classes.index": Role.ALL,
            "classes.join": (Role.STUDENT,),
            "classes.leave": (Role.STUDENT,),
        },
    )
)

# The link mailed with an invitation: opened by anyone (a new address registers there).
invitations_bp = Blueprint("invitations", __name__, url_prefix="/dashboard")

from portal.classes import routes  # noqa: E402,F401
