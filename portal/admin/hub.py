"""The administration hub: the same academy overview as the admin's dashboard."""
from __future__ import annotations

from flask import render_template

from portal.admin import bp, queries
from portal.dashboard.queries import admin_overview
from portal.privacy import export


@bp.get("/")
def index():
    return render_template("admin/index.html", admin=admin_overview(), jobs=queries.recent_jobs(5),
                           privacy_requests=export.pending_for_admins())
