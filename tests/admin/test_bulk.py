"""Bulk license jobs: progress, skips with reasons, failures, re-runs, and where they run
(inline, a thread of the app, an RQ queue served by a real worker process)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from portal import jobs
from portal.admin import services
from portal.extensions import db
from portal.models.job import Job, JobItem
from portal.models.klass import Klass
from portal.models.license import License, LicenseEvent
from portal.models.user import User
from tests.support.http import login
from tests.support.worker import REDIS_URL, ROOT, flask_command, run_worker_burst, worker_env


def _reading(app):
    """A GET request context: its transaction is a reader, so on SQLite it never waits
    for the worker, which holds the write lock while it works on an item."""
    return app.test_request_context(method="GET")


def _job(app, job_id):
    with _reading(app):
        job = db.session.get(Job, job_id)
        items = {
            i.key: (i.outcome, i.message)
            for i in db.session.scalars(sa.select(JobItem).where(JobItem.job_id == job_id))
        }
        db.session.expunge_all()
        return job, items


def _count(app, model, *where):
    with _reading(app):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _start(client, klass, action="issue", prerender=False):
    data = {"klass": klass.id, "action": action}
    if prerender:
        data["prerender"] = "y"
    response = client.post("/admin/licenses/bulk", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _wait(app, job_id, timeout=60.0, until=("finished", "failed")):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job, items = _job(app, job_id)
        if job.status in until:
            return job, items
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout} s ({job.done}/{job.total})")


# --- inline (tests) ---------------------------------------------------------------------------


def test_bulk_issue_reports_done_and_skipped_with_reasons(
    app, client, logged_admin, make_user, make_license, class_of_students, audit_events
):
    klass, spec, ids = class_of_students(5, min_age=0)
    with app.app_context():
        minor = db.session.get(User, ids[1])
        minor.date_of_birth = date.today() - timedelta(days=15 * 365)
        db.session.get(User, ids[2]).status = "suspended"
        db.session.commit()
    already = make_license(type("S", (), {"id": ids[3]}), spec)

    job_id = _start(client, klass, prerender=True)
    job, items = _job(app, job_id)
    assert (job.status, job.total, job.done, job.succeeded, job.skipped, job.failed) == (
        "finished",
        5,
        5,
        2,
        3,
        0,
    )
    assert items[str(ids[0])][0] == "done" and "certificate ready" in items[str(ids[0])][1]
    assert items[str(ids[1])] == ("skipped", "not eligible: under 18 and no guardian consent is recorded")
    assert items[str(ids[2])] == ("skipped", "not eligible: the account is suspended")
    assert items[str(ids[3])] == ("skipped", f"already licensed: {already.code}, level 1")
    # Each issued license has its audit event; the job has its start and end.
    assert len(audit_events("license.issued")) == 3  # 2 by the job + the one made above
    assert len(audit_events("job.started")) == 1 and len(audit_events("job.finished")) == 1
    # The certificates were rendered into the cache.
    cache = Path(app.config["CERTIFICATE_CACHE_DIR"])
    with app.app_context():
        issued = db.session.scalars(
            sa.select(License.id).where(License.holder_id.in_([ids[0], ids[4]]))
        ).all()
    assert all(list(cache.glob(f"{lid}-*.pdf")) for lid in issued)

    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert '<progress value="5" max="5"' in page
    assert "hx-trigger" not in page  # finished: no more polling
    assert "already licensed" in page and "not eligible" in page


def test_running_the_same_bulk_issue_twice_creates_no_duplicates(
    app, client, logged_admin, class_of_students, audit_events
):
    klass, spec, ids = class_of_students(4)
    first = _start(client, klass)
    second = _start(client, klass)
    assert first != second
    job, items = _job(app, second)
    assert (job.succeeded, job.skipped) == (0, 4)
    assert all(message.startswith("already licensed") for _, message in items.values())
    assert _count(app, License, License.specialization_id == spec.id) == 4
    assert len(audit_events("license.issued")) == 4
    # Re-running a finished job does nothing at all.
    with app.app_context():
        jobs.run(first)
    assert len(audit_events("license.issued")) == 4 and len(audit_events("job.finished")) == 2


def test_bulk_upgrade_raises_each_license_once(app, client, logged_admin, make_license, class_of_students,
                                               audit_events):
    klass, spec, ids = class_of_students(3, max_level=2)
    for uid in ids[:2]:
        make_license(type("S", (), {"id": uid}), spec, level=1)
    job_id = _start(client, klass, action="upgrade")
    job, items = _job(app, job_id)
    assert (job.succeeded, job.skipped) == (2, 1)
    assert items[str(ids[2])][1].startswith("not eligible: no ")
    with app.app_context():
        assert set(
            db.session.scalars(sa.select(License.level).where(License.specialization_id == spec.id))
        ) == {2}
        # Resuming the same job (as after a crash) upgrades nobody twice.
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(status="running"))
        db.session.execute(sa.delete(JobItem).where(JobItem.job_id == job_id))
        db.session.commit()

        jobs.run(job_id)
        assert set(
            db.session.scalars(sa.select(License.level).where(License.specialization_id == spec.id))
        ) == {2}
    job, items = _job(app, job_id)
    assert sum(1 for o, m in items.values() if m == "already at level 2") == 2
    assert len(audit_events("license.upgrade_approved")) == 2
    # A new upgrade job on licenses at the top level skips them with the reason.
    again = _start(client, klass, action="upgrade")
    _, items = _job(app, again)
    assert sum(1 for o, m in items.values() if "highest level" in m) == 2


def test_partial_failure_is_reported_and_rolled_back(
    app, client, logged_admin, make_license, class_of_students
):
    klass, spec, ids = class_of_students(3, max_level=3)
    licenses = [make_license(type("S", (), {"id": uid}), spec, level=1) for uid in ids]
    with app.app_context():
        # Someone tampered with one license's history: its certificate must not be made.
        db.session.execute(
            sa.update(LicenseEvent).where(LicenseEvent.license_id == licenses[1].id).values(note="tampered")
        )
        db.session.commit()
    job_id = _start(client, klass, action="upgrade", prerender=True)
    job, items = _job(app, job_id)
    assert (job.status, job.succeeded, job.failed) == ("finished", 2, 1)
    outcome, message = items[str(ids[1])]
    assert outcome == "failed" and "certificate could not be rendered" in message
    with app.app_context():
        levels = dict(
            db.session.execute(
                sa.select(License.id, License.level).where(License.specialization_id == spec.id)
            ).all()
        )
    assert levels == {licenses[0].id: 2, licenses[1].id: 1, licenses[2].id: 2}
    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "Failed (1)" in page and "certificate could not be rendered" in page


def test_refusals_on_the_form(
    client, logged_admin, make_user, make_specialization, make_class, class_of_students, app
):
    empty = make_class(make_user("instructor"), make_specialization())
    response = client.post("/admin/licenses/bulk", data={"klass": empty.id, "action": "issue"})
    assert response.status_code == 422 and "has no students" in response.get_data(as_text=True)
    klass, _, _ = class_of_students(1)
    response = client.post("/admin/licenses/bulk", data={"klass": klass.id, "action": "explode"})
    assert response.status_code == 422
    assert client.post("/admin/licenses/bulk", data={"klass": 999, "action": "issue"}).status_code == 422


def test_progress_partial_polls_until_finished(app, client, logged_admin, class_of_students):
    klass, _, _ = class_of_students(2)
    with app.app_context():
        job = services.start_bulk(
            db.session.get(Klass, klass.id), "issue", False, db.session.get(User, logged_admin.id)
        )
        db.session.commit()
        job_id = job.id
    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and ">Refresh</a>" in page and "<progress" in page
    partial = client.get(f"/admin/jobs/{job_id}", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and 'id="job-progress"' in body and "HX-Request" in partial.headers["Vary"]
    # The same job cannot be started twice while it is waiting.
    response = client.post("/admin/licenses/bulk", data={"klass": klass.id, "action": "issue"})
    assert response.status_code == 422 and "already doing this" in response.get_data(as_text=True)
    with app.app_context():
        jobs.run(job_id)
    body = client.get(f"/admin/jobs/{job_id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in body and "2 done" in body


def test_resume_route(app, client, logged_admin, class_of_students, audit_events):
    klass, spec, ids = class_of_students(3)
    job_id = _start(client, klass)
    with app.app_context():
        # As if the worker died after the first item: the rest is undone.
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(status="running"))
        db.session.execute(sa.delete(JobItem).where(JobItem.job_id == job_id, JobItem.key != str(ids[0])))
        db.session.execute(
            sa.delete(LicenseEvent).where(
                LicenseEvent.license_id.in_(sa.select(License.id).where(License.holder_id.in_(ids[1:])))
            )
        )
        db.session.execute(sa.delete(License).where(License.holder_id.in_(ids[1:])))
        db.session.commit()
    assert client.post(f"/admin/jobs/{job_id}/resume").status_code == 303
    job, items = _job(app, job_id)
    assert job.status == "finished" and len(items) == 3
    assert _count(app, License, License.specialization_id == spec.id) == 3
    assert len(audit_events("job.resumed")) == 1
    # A finished job has nothing to resume.
    response = client.post(f"/admin/jobs/{job_id}/resume", follow_redirects=True)
    assert "nothing to resume" in response.get_data(as_text=True)
    assert len(audit_events("job.resumed")) == 1


# --- a thread of the app (no Redis) --------------------------------------------------------------


@pytest.mark.slow
def test_thread_path_without_redis(app_factory, make_user, class_of_students):
    app = app_factory(JOBS_INLINE=False, REDIS_URL=None)
    client = app.test_client()
    login(client, make_user("admin"))
    klass, spec, ids = class_of_students(6)
    job_id = _start(client, klass, prerender=True)
    job, items = _wait(app, job_id)
    assert (job.status, job.succeeded) == ("finished", 6)
    assert _count(app, License, License.specialization_id == spec.id) == 6


# --- an RQ queue and a real worker process ------------------------------------------------------------


@pytest.mark.slow
def test_rq_path_with_a_real_worker(rq_app, db_url, make_user, class_of_students, audit_events):
    app = rq_app
    client = app.test_client()
    login(client, make_user("admin"))
    klass, spec, ids = class_of_students(5)
    job_id = _start(client, klass, prerender=True)
    job, _ = _job(app, job_id)
    assert job.status == "queued"  # waiting for a worker
    assert Queue(app.config["JOBS_QUEUE"], connection=Redis.from_url(REDIS_URL)).count == 1
    done = run_worker_burst(app, db_url)
    assert done.returncode == 0, done.stderr[-3000:]
    job, items = _job(app, job_id)
    assert (job.status, job.succeeded, job.total) == ("finished", 5, 5)
    assert _count(app, License, License.specialization_id == spec.id) == 5
    assert len(audit_events("license.issued")) == 5 and len(audit_events("job.finished")) == 1
    body = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert '<progress value="5" max="5"' in body


@pytest.mark.slow
def test_worker_killed_midway_then_resumed_leaves_no_duplicates(rq_app, db_url, make_user, class_of_students,
                                                                audit_events):
    app = rq_app
    client = app.test_client()
    login(client, make_user("admin"))
    klass, spec, ids = class_of_students(40)
    job_id = _start(client, klass, prerender=True)
    worker = subprocess.Popen(
        flask_command("jobs", "worker", "--burst"),
        cwd=ROOT,
        env=worker_env(app, db_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job, _ = _job(app, job_id)
            if job.done >= 3 or worker.poll() is not None:
                break
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
        if worker.stderr:
            worker.stderr.close()
    job, items = _job(app, job_id)
    assert job.status == "running" and 3 <= job.done < 40, (job.status, job.done)

    resumed = subprocess.run(
        flask_command("jobs", "run", str(job_id)),
        cwd=ROOT,
        env=worker_env(app, db_url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "finished" in resumed.stdout
    job, items = _job(app, job_id)
    assert (job.status, job.done, job.succeeded, job.failed) == ("finished", 40, 40, 0)
    assert len(items) == 40
    with app.app_context():
        holders = db.session.scalars(
            sa.select(License.holder_id).where(License.specialization_id == spec.id)
        ).all()
    assert sorted(holders) == sorted(ids)  # one license each, none twice
    assert len(audit_events("license.issued")) == 40
    assert len(audit_events("job.started")) == 1 and len(audit_events("job.finished")) == 1
