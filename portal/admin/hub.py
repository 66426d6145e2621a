"""The administration hub: counts and the latest jobs."""
from __future__ import annotations

from flask import render_template

from portal.admin import bp, queries


@bp.get("/")
def index():
    return render_template("admin/index.html", **queries.hub_counts(), jobs=queries.recent_jobs(5))
