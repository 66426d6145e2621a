from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from portal.audit import bp
from portal.extensions import db
from portal.models.audit import AuditEvent


@bp.get("/mine")
def mine():
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.actor_id == current_user.id)
        .order_by(AuditEvent.seq.desc())
        .limit(50)
    ).all()
    return render_template("audit/mine.html", events=events)


@bp.get("/")
def index():
    return render_template("placeholder.html", title="Audit trail"), 501
