"""`flask --app wsgi privacy purge`: retention, one audit event with counts, idempotent."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import jobs
from portal.audit import actions
from portal.db import clock, utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.job import Job
from portal.models.user import UserSession
from portal.privacy import export
from tests.support.http import login


def test_purge_removes_what_is_past_retention_and_the_chain_verifies(
        app, client, runner, make_user, audit_events):
    user = make_user()
    client.environ_base.update({"REMOTE_ADDR": "198.51.100.23", "HTTP_USER_AGENT": "OldBrowser/1"})
    login(client, user)
    client.post("/logout")
    login(client, user)
    assert client.post("/account/export").status_code in (302, 303)
    outbox = Path(app.config["MAIL_OUTBOX"])
    outbox.mkdir(parents=True, exist_ok=True)
    old_mail = outbox / "old.eml"
    old_mail.write_text("Subject: old\n\nhello")
    later = utcnow() + timedelta(days=200)
    os.utime(old_mail, (utcnow().timestamp(), utcnow().timestamp()))

    with clock(lambda: later):
        first = runner.invoke(args=["privacy", "purge"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(
            UserSession.revoked_at.is_not(None))) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.ip == "198.51.100.23")) == 0
        job = db.session.scalar(sa.select(Job).where(Job.kind == "privacy_export"))
        assert job.result == {}
    assert not old_mail.exists()
    assert not list(Path(app.config["EXPORT_DIR"]).glob("*.zip"))
    (event,) = audit_events(actions.PRIVACY_PURGED)
    assert event.details["audit_addresses"] > 0 and event.details["sessions"] >= 1
    assert event.details["exports"] >= 1 and event.details["mail"] == 1

    with clock(lambda: later):
        second = runner.invoke(args=["privacy", "purge"])
    assert second.exit_code == 0
    again = audit_events(actions.PRIVACY_PURGED)[-1]
    assert {k: v for k, v in again.details.items() if k != "retention_ip_days"} == {
        "sessions": 0, "remembered_devices": 0, "login_throttles": 0,
        "audit_addresses": 0, "exports": 0, "mail": 0,
        "unconfirmed_accounts": 0}
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_an_export_expires_after_seven_days(app, client, login_as):
    login_as()
    client.post("/account/export")
    with app.app_context():
        job_id = db.session.scalar(sa.select(Job.id).where(Job.kind == "privacy_export"))
    answer = client.get(f"/account/exports/{job_id}/download")
    assert answer.status_code == 200
    answer.close()
    # The session would not last 7 days: the export is made to have finished 7 days ago.
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.finished_at = utcnow() - timedelta(days=7, seconds=1)
        db.session.commit()
    assert client.get(f"/account/exports/{job_id}/download").status_code == 410
    assert "expired" in client.get(f"/account/exports/{job_id}").get_data(as_text=True)


def test_a_killed_export_never_offers_a_half_written_zip_and_resumes(app, client, login_as, monkeypatch):
    login_as()
    original = export._zip

    def killed(job_id, staging):
        final = export.zip_path(job_id)
        final.with_name(final.name + ".tmp").write_bytes(b"PK\x03\x04 half")
        raise SystemExit("worker killed")

    monkeypatch.setattr(export, "_zip", killed)
    with pytest.raises(SystemExit):  # the worker dies while writing the ZIP
        client.post("/account/export")
    with app.app_context():
        job = db.session.scalar(sa.select(Job).where(Job.kind == "privacy_export"))
        job_id = job.id
        assert export.ready_file(job) is None
    assert client.get(f"/account/exports/{job_id}/download").status_code == 404
    monkeypatch.setattr(export, "_zip", original)
    with app.app_context():
        jobs.run(job_id)
    answer = client.get(f"/account/exports/{job_id}/download")
    assert answer.status_code == 200 and answer.data[:2] == b"PK"
    answer.close()
