"""Background jobs: bulk issuance, full audit checks and other long work.

A job is a row in ``jobs`` (kind, parameters, actor, progress, outcome) plus one
``job_items`` row per item it handled. Each item is committed on its own together
with its change and audit event, so a job interrupted halfway keeps what it did,
and running it again skips the items already recorded.

Where it runs: with ``REDIS_URL`` set, on an RQ queue served by ``flask --app wsgi
jobs worker`` (``make worker``); otherwise in a background thread of the app, so a
plain ``make run`` needs nothing more. ``JOBS_INLINE`` runs it at once (tests).
"""
from __future__ import annotations

import importlib
import logging
import queue as queue_module
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask, current_app
from redis import Redis
from rq import Queue, SimpleWorker

from portal.audit import actions
from portal.audit.services import record
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.models.job import Job, JobItem, JobStatus
from portal.models.user import User

log = logging.getLogger(__name__)

QUEUE_NAME = "portal"
HANDLERS: dict[str, Callable[[Job, JobRun], None]] = {}


class JobError(PortalError):
    """An item or a whole job could not be done; the message is shown to the admin."""


def register(kind: str, fn: Callable[[Job, JobRun], None]) -> None:
    """Name the function that does the work of one kind of job (the app factory does this)."""
    HANDLERS[kind] = fn


@dataclass
class JobRun:
    """What a handler uses to report progress, one item at a time."""

    job_id: int

    def job(self) -> Job:
        return db.session.get(Job, self.job_id)

    def set_total(self, total: int) -> None:
        job = self.job()
        job.total = total
        db.session.commit()

    def done_keys(self) -> set[str]:
        return set(db.session.scalars(sa.select(JobItem.key).where(JobItem.job_id == self.job_id)))

    def each(self, keys: Iterable[str], work: Callable[[str], tuple[str, str]]) -> None:
        """Run ``work(key) -> (outcome, message)`` for every key not handled yet.

        ``outcome`` is "done" or "skipped"; a raised JobError (or any error) marks
        the item "failed" with its message. Each item commits on its own.
        """
        seen = self.done_keys()
        for key in keys:
            key = str(key)
            if key in seen:
                continue
            try:
                outcome, message = work(key)
                self._finish_item(key, outcome, message)
            except Exception as exc:  # one bad item must not stop the others
                db.session.rollback()
                if not isinstance(exc, JobError):
                    log.exception("job %s item %s failed", self.job_id, key)
                self._finish_item(key, "failed", str(exc) or exc.__class__.__name__)

    def _finish_item(self, key: str, outcome: str, message: str) -> None:
        db.session.add(JobItem(job_id=self.job_id, key=key, outcome=outcome, message=message[:2000]))
        counter = {"done": Job.succeeded, "skipped": Job.skipped, "failed": Job.failed}[outcome]
        db.session.execute(
            sa.update(Job)
            .where(Job.id == self.job_id)
            .values({Job.done: Job.done + 1, counter: counter + 1})
        )
        db.session.commit()


def enqueue(kind: str, params: dict, actor: User | None) -> Job:
    """Create a queued job; the caller commits, then calls :func:`dispatch`."""
    if kind not in HANDLERS:
        raise JobError(f"Unknown job kind {kind!r}.")
    job = Job(kind=kind, params=params, actor_id=actor.id if actor else None, status=JobStatus.QUEUED)
    db.session.add(job)
    db.session.flush()
    return job


def dispatch(job_id: int) -> str:
    """Start a committed job where it should run; returns "inline", "rq" or "thread"."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        run(job_id)
        return "inline"
    if app.config.get("REDIS_URL"):
        try:
            _queue(app).enqueue("portal.jobs.run_from_queue", job_id, job_timeout=3600)
            return "rq"
        except Exception:  # Redis down: the work still gets done, here
            log.warning("job queue unavailable; running job %s in a thread", job_id, exc_info=True)
    threading.Thread(target=_run_in_thread, args=(app, job_id), daemon=True,
                     name=f"portal-job-{job_id}").start()
    return "thread"


def submit(task: str, *args) -> str:
    """Run a small task (``"module.function"``, given plain arguments) away from the
    request, like :func:`dispatch` but without a ``jobs`` row: inline when
    ``JOBS_INLINE`` (in a context of its own), on the RQ queue with Redis, else on the
    app's one task thread. The task must be safe to run twice. Returns where it went."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_INLINE"):
        _call(app, task, args)
        return "inline"
    if app.config.get("REDIS_URL"):
        try:
            _queue(app).enqueue("portal.jobs.call_from_queue", task, *args, job_timeout=600)
            return "rq"
        except Exception:  # Redis down: the scheduled run picks the work up, or this thread
            log.warning("job queue unavailable; running %s in a thread", task, exc_info=True)
    _task_thread(app).put((task, args))
    return "thread"


def _resolve(task: str) -> Callable:
    module, _, name = task.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _call(app: Flask, task: str, args) -> None:
    # A context (and so a database session) of its own, even when called inline from
    # within another: the caller's transaction is over, this one is new.
    with app.app_context():
        try:
            _resolve(task)(*args)
        except Exception:
            log.exception("task %s failed", task)
        finally:
            db.session.remove()


def call_from_queue(task: str, *args) -> None:
    """Entry point for the RQ worker (inside the app context)."""
    try:
        _resolve(task)(*args)
    finally:
        db.session.remove()


_task_threads: dict[int, queue_module.Queue] = {}
_task_threads_lock = threading.Lock()


def _task_thread(app: Flask) -> queue_module.Queue:
    """One daemon thread per app that runs submitted tasks in order."""
    with _task_threads_lock:
        tasks = _task_threads.get(id(app))
        if tasks is None:
            tasks = _task_threads[id(app)] = queue_module.Queue()

            def serve():
                while True:
                    task, args = tasks.get()
                    _call(app, task, args)

            threading.Thread(target=serve, daemon=True, name="portal-tasks").start()
        return tasks


def _queue(app: Flask):
    name = app.config.get("JOBS_QUEUE") or QUEUE_NAME
    return Queue(name, connection=Redis.from_url(app.config["REDIS_URL"]))


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            run(job_id)
        finally:
            db.session.remove()


def run_from_queue(job_id: int) -> None:
    """Entry point for the RQ worker, which runs inside the app context."""
    try:
        run(job_id)
    finally:
        db.session.remove()


def run(job_id: int) -> None:
    """Run (or resume) a job to the end. Safe to call again on a finished job."""
    job = db.session.get(Job, job_id)
    if job is None or job.status == JobStatus.FINISHED:
        return
    actor = db.session.get(User, job.actor_id) if job.actor_id else None
    first_start = job.started_at is None
    job.status = JobStatus.RUNNING
    job.started_at = job.started_at or utcnow()
    if first_start:
        record(actor, actions.JOB_STARTED, job, kind=job.kind, params=job.params)
    db.session.commit()
    try:
        HANDLERS[job.kind](job, JobRun(job_id))
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s failed", job_id)
        job = db.session.get(Job, job_id)
        job.status = JobStatus.FAILED
        job.error = str(exc) or exc.__class__.__name__
        job.finished_at = utcnow()
        record(actor, actions.JOB_FINISHED, job, kind=job.kind, status=JobStatus.FAILED,
               error=job.error)
        db.session.commit()
        return
    job = db.session.get(Job, job_id)
    db.session.refresh(job)
    job.status = JobStatus.FINISHED
    job.finished_at = utcnow()
    if job.total < job.done:
        job.total = job.done
    record(actor, actions.JOB_FINISHED, job, kind=job.kind, status=JobStatus.FINISHED,
           succeeded=job.succeeded, skipped=job.skipped, failed=job.failed)
    db.session.commit()


def work_loop(burst: bool = False) -> None:
    """Serve the RQ queue in this process (``flask --app wsgi jobs worker``)."""
    app = current_app._get_current_object()
    queue = _queue(app)
    # SimpleWorker runs jobs in this process, inside the app context we are in.
    SimpleWorker([queue], connection=queue.connection).work(burst=burst, with_scheduler=False)
