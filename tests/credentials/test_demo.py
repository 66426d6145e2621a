"""The demo academy shows credentials in every state: in force, suspended, revoked, superseded."""
from __future__ import annotations

import sqlalchemy as sa

from portal import seed
from portal.extensions import db
from portal.models import Credential


def test_the_demo_has_credentials_in_every_state(app):
    with app.app_context():
        seed.demo()
        db.session.commit()
        rows = db.session.scalars(sa.select(Credential)).all()
        assert any(r.superseded_at is None and not r.revoked_bit and not r.suspended for r in rows)
        assert any(r.suspended for r in rows)
        assert any(r.revoked_at is not None for r in rows)
        assert any(r.superseded_at is not None for r in rows)
        assert len({r.status_index for r in rows}) == len(rows)
