from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user

from portal.extensions import db
from portal.public import bp

log = logging.getLogger(__name__)


@bp.get("/")
def landing():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    return render_template("public/landing.html")


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.select(1))
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        log.warning("health check: database unreachable: %s", exc.__class__.__name__)
        response = jsonify({"status": "error", "database": "unreachable"})
        response.status_code = 503
        response.headers["Cache-Control"] = "no-store"
        return response
    response = jsonify({"status": "ok", "database": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


# Placeholders until verification lands.
@bp.get("/verify")
def verify_form():
    return render_template("placeholder.html", title="Verify a license"), 501


@bp.get("/.well-known/portal-keys.json")
def portal_keys():
    return jsonify({"keys": []})
