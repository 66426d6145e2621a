"""Full checks of the audit chain: from the CLI, or as a background job with progress.

The job (kind ``audit_verify``) runs like every other job (``portal.jobs``): on the RQ
worker when Redis is configured, else in a thread of the app; its handler is
registered by the app factory.
"""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app, g

from portal import jobs
from portal.audit import actions, chain
from portal.audit.services import record
from portal.extensions import db
from portal.models.audit import AuditEvent, Outcome
from portal.models.job import Job, JobStatus
from portal.models.user import User

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
    """Queue a full check; the caller commits, then calls ``jobs.dispatch`` when new.

    Returns (job, True) for a new job, or (the check already queued or running,
    False) instead of starting a second one.
    """
    existing = running_job()
    if existing is not None:
        return existing, False
    job = jobs.enqueue(JOB_KIND, {}, actor)
    job.total = db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) or 0
    return job, True


def run_check(job: Job, run: jobs.JobRun) -> None:
    """The job's handler: walk the chain, keep the outcome on the job, record it."""
    job_id = run.job_id  # not job.id: loading the row now would open a write transaction
    table = Job.__table__

    def progress(done: int) -> None:
        _write(sa.update(table).where(table.c.id == job_id).values(done=done))

    with read_only_scan():
        result = chain.verify(db.session, progress=progress)
    job = run.job()
    actor = db.session.get(User, job.actor_id) if job.actor_id else None
    job.done = job.total = result.count if result.ok else max(job.total, result.count)
    job.succeeded = result.count
    job.failed = 0 if result.ok else 1
    job.result = {
        "ok": result.ok, "count": result.count, "head_seq": result.head_seq,
        "head_hash": result.head_hash, "first_bad_seq": result.first_bad_seq,
        "first_bad_id": result.first_bad_id, "problem": result.problem,
        "summary": result.summary(),
    }
    record_result(actor, result, "job", job)
    db.session.commit()
