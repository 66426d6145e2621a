"""The background job runner: progress, per-item outcomes, resuming, threads."""
from __future__ import annotations

import sqlalchemy as sa

from portal import jobs
from portal.audit import actions
from portal.audit.services import record
from portal.extensions import db
from portal.models import AuditEvent, Job, JobItem
from tests.support.polling import wait_until


def _touch_handler(job, run):
    keys = job.params["keys"]
    run.set_total(len(keys))

    def work(key):
        if key.startswith("bad"):
            raise jobs.JobError(f"cannot handle {key}")
        if key.startswith("skip"):
            return "skipped", "nothing to do"
        record(None, actions.USER_UPDATED, ("user", key), via="job")
        return "done", ""

    run.each(keys, work)


jobs.register("test.touch", _touch_handler)


def _start(app, keys):
    with app.app_context():
        job = jobs.enqueue("test.touch", {"keys": keys}, None)
        db.session.commit()
        job_id = job.id
        how = jobs.dispatch(job_id)
    return job_id, how


def _job(app, job_id):
    with app.app_context():
        job = db.session.get(Job, job_id)
        items = db.session.scalars(sa.select(JobItem).where(JobItem.job_id == job_id)).all()
        db.session.expunge_all()
        return job, items


def test_inline_job_reports_each_item(app):
    job_id, how = _start(app, ["1", "2", "skip-3", "bad-4", "5"])
    assert how == "inline"
    job, items = _job(app, job_id)
    assert (job.status, job.total, job.done) == ("finished", 5, 5)
    assert (job.succeeded, job.skipped, job.failed) == (3, 1, 1)
    assert {i.key: i.outcome for i in items}["bad-4"] == "failed"
    assert "cannot handle bad-4" in {i.key: i.message for i in items}["bad-4"]
    with app.app_context():
        names = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert names[0] == "job.started" and names[-1] == "job.finished"
    assert names.count("user.updated") == 3


def test_rerun_skips_items_already_done(app, audit_events):
    job_id, _ = _start(app, ["1", "2"])
    with app.app_context():
        # Pretend the worker died: the job is back to running with its items kept.
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(status="running"))
        db.session.commit()
        jobs.run(job_id)
        assert len(audit_events("user.updated")) == 2
    job, items = _job(app, job_id)
    assert job.status == "finished" and len(items) == 2


def test_thread_path_without_redis(app_factory):
    app = app_factory(JOBS_INLINE=False, REDIS_URL=None)
    job_id, how = _start(app, [str(n) for n in range(10)])
    assert how == "thread"
    assert wait_until(lambda: _job(app, job_id)[0].status == "finished")
    job, _ = _job(app, job_id)
    assert job.status == "finished" and job.succeeded == 10


def test_unknown_kind_is_refused(app):
    with app.app_context():
        try:
            jobs.enqueue("no.such.kind", {}, None)
        except jobs.JobError as exc:
            assert "Unknown job kind" in str(exc)
        else:
            raise AssertionError("unknown kinds must be refused")
