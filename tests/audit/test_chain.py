"""The audit chain: appending, verification, tamper detection, concurrent writers."""
from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from portal.audit import actions, chain
from portal.audit.services import record
from portal.extensions import db
from portal.models import AuditEvent
from tests.support.audit import BASE, append_events, tamper


def db_is_postgresql(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def _verify(app, checkpoint=None):
    with app.app_context():
        return chain.verify(db.session, checkpoint=checkpoint, batch=3)


def test_append_links_each_event_to_the_previous(app):
    append_events(app, 5)
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == chain.GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    result = _verify(app)
    assert result.ok and result.count == 5 and result.head_hash == events[-1].hash
    assert "intact: 5 events" in result.summary()


def test_record_captures_request_fields(app, client):
    client.get("/admin/", headers={"User-Agent": "pytest-agent"})  # anonymous: redirect, no event
    with app.test_request_context("/x/y", method="POST", headers={"User-Agent": "UA/1"},
                                  environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        event = record(None, actions.USER_UPDATED, ("user", 7), field="name", password="never-stored")
        db.session.commit()
        assert (event.ip, event.user_agent) == ("203.0.113.9", "UA/1")
        assert (event.method, event.path) == ("POST", "/x/y")
        assert event.details == {"field": "name"}
        assert event.resource_type == "user" and event.resource_id == "7"


def test_rollback_discards_the_event_with_the_change(app):
    with app.app_context():
        record(None, actions.USER_UPDATED, ("user", "1"))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    append_events(app, 2)
    assert _verify(app).ok


def test_detects_changed_event(app):
    append_events(app, 6)
    tamper(app, "UPDATE audit_events SET action = 'auth.login' WHERE seq = 4")
    result = _verify(app)
    assert not result.ok and result.first_bad_seq == 4
    assert "changed" in result.problem


def test_detects_changed_details(app):
    append_events(app, 3)
    tamper(app, "UPDATE audit_events SET ip = '10.0.0.1' WHERE seq = 2")
    result = _verify(app)
    assert not result.ok and result.first_bad_seq == 2


def test_detects_a_time_moved_by_one_microsecond(add_events, app):
    add_events({"at": BASE}, {"at": BASE + timedelta(seconds=1)}, {"at": BASE + timedelta(seconds=2)})
    tamper(app, "UPDATE audit_events SET at = at + interval '1 microsecond' WHERE seq = 2"
           if db_is_postgresql(app)  # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff"
           else "UPDATE audit_events SET at = substr(at, 1, 20) || '000001' WHERE seq = 2")
    result = _verify(app)
    assert not result.ok and result.first_bad_seq == 2 and "changed" in result.problem


def test_times_on_a_whole_second_verify(add_events, app):
    # The walk reads each time as text (PostgreSQL writes it): no microseconds must still be ".000000".
    add_events({"at": BASE}, {"at": BASE + timedelta(seconds=1, microseconds=7)})
    assert _verify(app).ok


def test_detects_deleted_event(app):
    append_events(app, 6)
    tamper(app, "DELETE FROM audit_events WHERE seq = 3")
    result = _verify(app)
    assert not result.ok and result.first_bad_seq == 4
    assert "missing" in result.problem


def test_detects_inserted_event(app):
    append_events(app, 5)
    # Make room after #2 and insert a well-formed event there, chained to #2.
    tamper(app, "UPDATE audit_events SET seq = seq + 100 WHERE seq > 2")
    tamper(app, "UPDATE audit_events SET seq = seq - 99 WHERE seq > 100")
    with app.app_context():
        second = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 2))
        forged = AuditEvent(
            seq=3, at=second.at, action="user.updated", details={}, outcome="success",
            prev_hash=second.hash,
        )
        forged.hash = chain.compute_hash(forged)
        db.session.add(forged)
        db.session.commit()
    result = _verify(app)
    assert not result.ok and result.first_bad_seq == 4
    assert "does not link" in result.problem


def test_detects_reordered_events(app):
    append_events(app, 5)
    tamper(app, "UPDATE audit_events SET seq = 1000 WHERE seq = 2")
    tamper(app, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    tamper(app, "UPDATE audit_events SET seq = 3 WHERE seq = 1000")
    result = _verify(app)
    assert not result.ok and result.first_bad_seq == 2


def test_detects_cut_tail_against_checkpoint(app):
    append_events(app, 5)
    with app.app_context():
        fourth = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 5))
        checkpoint = {"seq": 5, "hash": fourth.hash, "time": "now"}
    tamper(app, "DELETE FROM audit_events WHERE seq >= 4")
    assert _verify(app).ok  # without the checkpoint the shorter chain looks fine
    result = _verify(app, checkpoint)
    assert not result.ok and "cut off" in result.problem


def test_concurrent_appends_keep_one_chain(app):
    threads, per_thread = 6, 15
    errors: list[BaseException] = []

    def worker(n):
        try:
            for i in range(per_thread):
                with app.app_context():
                    record(None, actions.USER_UPDATED, ("user", str(n)), i=i)
                    db.session.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors
    result = _verify(app)
    assert result.ok, result.summary()
    assert result.count == threads * per_thread


def test_cli_verify_exit_codes(app, runner):
    append_events(app, 3)
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 3 events" in ok.output
    tamper(app, "UPDATE audit_events SET action = 'x.y' WHERE seq = 2")
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and "#2" in bad.output
