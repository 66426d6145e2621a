"""The audit trail's personal fields: changing them is still caught while the person's key
lives; emptying them (erasure, retention) keeps the chain valid; hashed columns stay frozen."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit import chain, privacy
from portal.extensions import db
from portal.models.audit import AuditEvent
from tests.support.http import login


def _events(app, client, make_user):
    user = make_user()
    client.environ_base.update({"REMOTE_ADDR": "192.0.2.44"})
    login(client, user)
    with app.app_context():
        return db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.ip == "192.0.2.44"))


def test_a_changed_detail_or_address_is_caught_while_the_key_lives(app, client, make_user):
    event_id = _events(app, client, make_user)
    with app.app_context():
        assert chain.verify(db.session).ok
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id)
                           .values(details={"forged": True}))
        db.session.commit()
        result = chain.verify(db.session)
        assert not result.ok and "details" in result.problem
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id)
                           .values(ip="192.0.2.45"))
        db.session.commit()
        assert not chain.verify(db.session).ok


def test_emptying_the_address_keeps_the_chain_valid(app, client, make_user):
    event_id = _events(app, client, make_user)
    with app.app_context():
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id)
                           .values(ip=None, user_agent=None))
        db.session.commit()
        assert chain.verify(db.session).ok


def test_postgresql_still_refuses_changes_to_hashed_columns(app, client, make_user):
    event_id = _events(app, client, make_user)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger exists on PostgreSQL only")
        for values in ({"action": "auth.logout"}, {"identity_digest": "0" * 64}, {"key_id": None}):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event_id).values(**values))
            db.session.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.delete(AuditEvent).where(AuditEvent.id == event_id))
        db.session.rollback()


@pytest.mark.parametrize("secret", ["00" * 32, "ab" * 32, "5c36" * 40])  # the last: longer than a block
@pytest.mark.parametrize("content", [
    {"actor_label": "ana@example.com", "details": {"field": "name", "n": 3}},
    {"actor_label": None, "details": {}},
    {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Ünïcode)"},
])
def test_the_verify_key_gives_the_digest_sealing_gave(secret, content):
    assert privacy.VerifyKey(secret).digest(content) == privacy._digest(secret, content)
