from __future__ import annotations

from flask import render_template

from portal.admin import bp


@bp.get("/")
def index():
    return render_template("admin/index.html")
