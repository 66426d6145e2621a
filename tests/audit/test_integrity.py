"""Integrity: the page, the background check, checkpoints, and the append-only trigger."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from portal.audit import actions, chain, checkpoints, integrity
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.job import Job
from portal.models.user import Role
from tests.support.audit import append_events, tamper
from tests.support.http import login
from tests.support.polling import wait_until
from tests.support.worker import REDIS_URL, run_worker_burst


def test_integrity_page_shows_count_and_head(client, login_as, app):
    login_as(Role.ADMIN)
    append_events(app, 3)
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
        head = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    html = client.get("/audit/integrity").get_data(as_text=True)
    assert f'<dd class="event-count">{count}</dd>' in html
    assert head.hash in html and "Never. Run one now." in html


def test_background_check_reports_intact_chain(client, login_as, app, audit_events):
    admin = login_as(Role.ADMIN)
    append_events(app, 12)
    response = client.post("/audit/integrity/check")
    assert response.status_code == 303
    job_url = response.headers["Location"]
    job_id = int(re.search(r"/jobs/(\d+)", job_url).group(1))
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.kind == "audit_verify" and job.status == "finished"
        assert job.result["ok"] is True and job.done == job.total == job.result["count"]
    page = client.get(job_url)
    html = page.get_data(as_text=True)
    count = job.result["count"]
    assert f"The audit chain is intact ({count} events checked)" in html
    assert "<progress" in html and "every 1s" not in html
    partial = client.get(job_url, headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and "HX-Request" in partial.headers["Vary"]
    verified = audit_events(actions.AUDIT_VERIFIED)
    assert len(verified) == 1 and verified[0].actor_id == admin.id
    assert verified[0].details["ok"] is True and verified[0].details["source"] == "job"
    assert verified[0].resource_type == "job" and verified[0].resource_id == str(job_id)
    assert [e.action for e in audit_events(actions.JOB_STARTED)] == [actions.JOB_STARTED]
    # The integrity page now shows the last full check.
    integrity = client.get("/audit/integrity").get_data(as_text=True)
    assert "✓ intact" in integrity and f"The audit chain is intact ({count} events checked" in integrity


def test_background_check_names_the_first_bad_event(client, login_as, app, audit_events):
    login_as(Role.ADMIN)
    append_events(app, 6)
    with app.app_context():
        target = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == actions.USER_UPDATED)
                                   .order_by(AuditEvent.seq).offset(2).limit(1))
    tamper(app, "UPDATE audit_events SET details = '{}' WHERE id = :id", id=target.id)
    response = client.post("/audit/integrity/check", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "broken" in html and f"#{target.seq}" in html
    assert f'href="/audit/events/{target.id}"' in html
    failed = audit_events(actions.AUDIT_VERIFIED)[-1]
    assert failed.outcome == "failure" and failed.details["first_bad_seq"] == target.seq


def test_a_running_check_is_not_started_twice(client, login_as, app):
    admin = login_as(Role.ADMIN)
    with app.app_context():
        first_id = integrity.start_check(db.session.get(type(admin), admin.id))[0].id
        db.session.commit()
    html = client.get("/audit/integrity").get_data(as_text=True)
    assert "follow its progress" in html and "Run a full check now" not in html
    response = client.post("/audit/integrity/check")
    assert response.headers["Location"].endswith(f"/audit/integrity/jobs/{first_id}")
    # A queued job page polls and offers a refresh without JavaScript.
    job_html = client.get(f"/audit/integrity/jobs/{first_id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in job_html and '<meta http-equiv="refresh"' in job_html


def test_background_thread_runs_the_check(app_factory, make_user, app):
    threaded = app_factory(JOBS_INLINE=False, REDIS_URL=None)
    client = threaded.test_client()
    login(client, make_user(Role.ADMIN))
    append_events(app, 20)
    job_url = client.post("/audit/integrity/check").headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])

    def status():
        with threaded.test_request_context(method="GET"):
            return db.session.get(Job, job_id).status

    assert wait_until(lambda: status() in ("finished", "failed"))
    assert status() == "finished"
    assert "intact" in client.get(job_url).get_data(as_text=True)


@pytest.mark.slow
def test_rq_worker_runs_the_check(rq_app, db_url, make_user, app, audit_events):
    """With Redis configured the check is queued like every job and a real worker process runs it."""
    client = rq_app.test_client()
    login(client, make_user(Role.ADMIN))
    append_events(app, 15)
    job_url = client.post("/audit/integrity/check").headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    with rq_app.app_context():
        assert db.session.get(Job, job_id).status == "queued"  # waiting for a worker
        db.session.remove()
    assert Queue(rq_app.config["JOBS_QUEUE"], connection=Redis.from_url(REDIS_URL)).count == 1
    done = run_worker_burst(rq_app, db_url)
    assert done.returncode == 0, done.stderr[-3000:]
    with rq_app.app_context():
        job = db.session.get(Job, job_id)
        assert job.status == "finished" and job.result["ok"] is True
        assert job.done == job.total == job.result["count"]
        db.session.remove()
    assert "intact" in client.get(job_url).get_data(as_text=True)
    verified = audit_events(actions.AUDIT_VERIFIED)
    assert len(verified) == 1 and verified[0].details["source"] == "job"
    assert len(audit_events(actions.JOB_STARTED)) == 1 and len(audit_events(actions.JOB_FINISHED)) == 1


def test_checkpoint_command_and_verify_against_it(app, runner, tmp_path, audit_events):
    append_events(app, 5)
    target = tmp_path / "cp.json"
    made = runner.invoke(args=["audit", "checkpoint", "--output", str(target)])
    assert made.exit_code == 0, made.output
    data = json.loads(target.read_text())
    assert data["seq"] == 5 and set(data) >= {"seq", "hash", "time", "key_id", "signature"}
    with app.app_context():
        fifth = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 5))
        assert data["hash"] == fifth.hash
        assert checkpoints.load(str(target))["seq"] == 5
    cp_events = audit_events(actions.AUDIT_CHECKPOINT)
    assert len(cp_events) == 1 and cp_events[0].seq == 6 and cp_events[0].details["seq"] == 5
    ok = runner.invoke(args=["audit", "verify", "--checkpoint", str(target)])
    assert ok.exit_code == 0 and "signature valid" in ok.output and "intact" in ok.output
    assert audit_events(actions.AUDIT_VERIFIED)[-1].details["checkpoint_seq"] == 5


def test_checkpoint_catches_tail_truncation(app, runner, tmp_path):
    append_events(app, 6)
    target = tmp_path / "cp.json"
    assert runner.invoke(args=["audit", "checkpoint", "--output", str(target)]).exit_code == 0
    tamper(app, "DELETE FROM audit_events WHERE seq >= 5")
    plain = runner.invoke(args=["audit", "verify"])
    assert plain.exit_code == 0  # on its own the shorter chain looks whole
    tamper(app, "DELETE FROM audit_events WHERE seq >= 5")  # drop the event the last check added
    caught = runner.invoke(args=["audit", "verify", "--checkpoint", str(target)])
    assert caught.exit_code == 1 and "cut off" in caught.output


def test_checkpoint_default_folder(app, runner):
    append_events(app, 2)
    made = runner.invoke(args=["audit", "checkpoint"])
    assert made.exit_code == 0
    folder = app.config["AUDIT_CHECKPOINT_DIR"]
    assert f"written to {folder}" in made.output


@pytest.mark.parametrize("field", ["seq", "hash", "signature"])
def test_tampered_checkpoint_is_refused(app, runner, tmp_path, field):
    append_events(app, 4)
    target = tmp_path / "cp.json"
    runner.invoke(args=["audit", "checkpoint", "--output", str(target)])
    data = json.loads(target.read_text())
    if field == "seq":
        data["seq"] = 2
    elif field == "hash":
        data["hash"] = "f" * 64
    else:
        data["signature"] = data["signature"][:-4] + "AAAA"
    target.write_text(json.dumps(data))
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(target)])
    assert result.exit_code == 1 and "signature is not valid" in result.output


def test_not_a_checkpoint(app, runner, tmp_path):
    target = tmp_path / "x.json"
    target.write_text('{"seq": 1}')
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(target)])
    assert result.exit_code == 1 and "not a checkpoint" in result.output


def test_postgres_trigger_rejects_update_and_delete(app):
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("the append-only trigger exists on PostgreSQL only")
    append_events(app, 2)
    for statement in ("UPDATE audit_events SET action = 'x.y' WHERE seq = 1",
                      "DELETE FROM audit_events WHERE seq = 2"):
        with app.app_context():
            with pytest.raises(sa.exc.DBAPIError) as caught:
                db.session.execute(sa.text(statement))
            assert "append-only" in str(caught.value)
            db.session.rollback()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 2
        assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.seq == 1)) == "user.updated"


def test_full_check_agrees_with_sealing_for_unusual_values(app, add_events):
    add_events(
        {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "action": actions.USER_UPDATED,
         "note": "Sofía – ünïcødé ✓", "nested": {"b": [1, None, True], "a": "x"}},
        {"at": datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC), "action": actions.USER_UPDATED,
         "ip": "2001:db8::1", "status": 0},
    )
    with app.app_context():
        result = chain.verify(db.session)
        assert result.ok and result.count == 2
        for event in db.session.scalars(sa.select(AuditEvent)):
            assert chain.compute_hash(event) == event.hash
