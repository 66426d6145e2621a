from __future__ import annotations

from flask import render_template
from flask_login import current_user

from portal.achievements import services as achievements
from portal.admin import queries as admin_queries
from portal.dashboard import bp, queries
from portal.models.user import Role
from portal.privacy import export


@bp.get("")
def index():
    if current_user.role == Role.ADMIN:
        context = {"admin": queries.admin_overview(), "jobs": admin_queries.recent_jobs(5),
                   "privacy_requests": export.pending_for_admins()}
    elif current_user.role == Role.INSTRUCTOR:
        context = {"instructor": queries.instructor_overview(current_user)}
    else:
        context = {"student": queries.student_overview(current_user),
                   "achievements": (achievements.newest_award(current_user)
                                    if current_user.show_achievements else None)}
    return render_template("dashboard/index.html", **context)
