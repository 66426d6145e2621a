"""Full checks of the audit chain: from the CLI, or as a background job with progress."""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

import sqlalchemy as sa
from flask import Flask, current_app, g

from portal.audit import actions, chain
from portal.audit.services import record
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent, Outcome
from portal.models.job import Job, JobStatus
from portal.models.user import User

log = logging.getLogger(__name__)

JOB_KIND = "audit_verify"


@contextmanager
def read_only_scan():
    """Run a long read in a deferred transaction.

    On SQLite, work outside a request starts its transactions with BEGIN
    IMMEDIATE (see ``portal.db``); a scan of a large log must not hold the write
    lock for its whole length, so it runs as if inside a GET request.
    """
    with current_app.test_request_context("/audit/integrity", method="GET"):
        g.portal_write_intent = False
        try:
            yield
        finally:
            db.session.rollback()


def _write(stmt) -> None:
    """A short write transaction of its own (progress), beside a running scan."""
    g.portal_write_intent = True
    try:
        with db.engine.begin() as conn:
            conn.execute(stmt)
    finally:
        g.portal_write_intent = False


def record_result(actor, result: chain.ChainResult, source: str, job: Job | None = None,
                  checkpoint: dict | None = None) -> AuditEvent:
    details = {"ok": result.ok, "count": result.count, "head_seq": result.head_seq,
               "head_hash": result.head_hash, "source": source}
    if not result.ok:
        details.update(first_bad_seq=result.first_bad_seq, first_bad_id=result.first_bad_id,
                       problem=result.problem)
    if checkpoint:
        details["checkpoint_seq"] = checkpoint["seq"]
    return record(actor, actions.AUDIT_VERIFIED, job,
                  outcome=Outcome.SUCCESS if result.ok else Outcome.FAILURE, **details)


def check(checkpoint: dict | None = None, progress=None) -> chain.ChainResult:
    """Walk the whole chain without holding the write lock."""
    with read_only_scan():
        return chain.verify(db.session, checkpoint=checkpoint, progress=progress)


def last_check() -> AuditEvent | None:
    return db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == actions.AUDIT_VERIFIED)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1)
    )


def running_job() -> Job | None:
    return db.session.scalar(
        sa.select(Job).where(Job.kind == JOB_KIND, Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
        .order_by(Job.id.desc()).limit(1)
    )


def start_check(actor) -> tuple[Job, bool]:
    """Queue a full check; the caller commits, then calls :func:`launch` when new.

    Returns (job, True) for a new job, or (the check already queued or running,
    False) instead of starting a second one.
    """
    existing = running_job()
    if existing is not None:
        return existing, False
    total = db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) or 0
    job = Job(kind=JOB_KIND, actor_id=actor.id, status=JobStatus.QUEUED, total=total, params={})
    db.session.add(job)
    db.session.flush()
    record(actor, actions.JOB_STARTED, job, kind=JOB_KIND, total=total)
    return job, True


def launch(app: Flask, job_id: int) -> None:
    """Run the job: in a thread of the app, or at once when ``JOBS_INLINE`` is set."""
    try:
        from portal import jobs  # the generic runner, when the project has one
    except ImportError:
        jobs = None
    if jobs is not None and hasattr(jobs, "submit"):
        jobs.submit(app, run, job_id)
        return
    if app.config.get("JOBS_INLINE"):
        run(app, job_id)
        return
    threading.Thread(target=run, args=(app, job_id), name=f"audit-verify-{job_id}", daemon=True).start()


def run(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            _run(job_id)
        except Exception as exc:  # the job page must say it failed
            log.exception("audit check job %s failed", job_id)
            db.session.rollback()
            job = db.session.get(Job, job_id)
            if job is not None:
                job.status, job.error, job.finished_at = JobStatus.FAILED, str(exc)[:500], utcnow()
                db.session.commit()


def _run(job_id: int) -> None:
    table = Job.__table__

    def progress(done: int) -> None:
        _write(sa.update(table).where(table.c.id == job_id).values(done=done))

    with read_only_scan():
        _write(sa.update(table).where(table.c.id == job_id)
               .values(status=JobStatus.RUNNING, started_at=utcnow()))
        result = chain.verify(db.session, progress=progress)
    job = db.session.get(Job, job_id)
    actor = db.session.get(User, job.actor_id) if job.actor_id else None
    job.status = JobStatus.FINISHED
    job.done = job.total = result.count if result.ok else max(job.total, result.count)
    job.succeeded = result.count
    job.failed = 0 if result.ok else 1
    job.finished_at = utcnow()
    job.result = {
        "ok": result.ok, "count": result.count, "head_seq": result.head_seq,
        "head_hash": result.head_hash, "first_bad_seq": result.first_bad_seq,
        "first_bad_id": result.first_bad_id, "problem": result.problem,
        "summary": result.summary(),
    }
    record_result(actor, result, "job", job)
    record(actor, actions.JOB_FINISHED, job, kind=JOB_KIND, ok=result.ok)
    db.session.commit()
