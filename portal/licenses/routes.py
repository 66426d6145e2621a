from __future__ import annotations

from flask import render_template

from portal.licenses import bp


@bp.get("/")
def index():
    return render_template("licenses/index.html")
