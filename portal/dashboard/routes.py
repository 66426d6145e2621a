from __future__ import annotations

from flask import render_template

from portal.dashboard import bp


@bp.get("")
def index():
    return render_template("dashboard/index.html")
