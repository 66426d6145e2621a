"""Bulk license jobs: progress, skips with reasons, failures, re-runs, and where they run
(inline, a thread of the app, an RQ queue served by a real worker process)."""

from __future__ import annotations

import html
import os
import re
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
from portal.classes import services as class_services
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import reviews, rules
from portal.models.catalogue import Level, Requirement, Specialization
from portal.models.job import Job, JobItem
from portal.models.klass import Klass
from portal.models.license import License, LicenseEvent
from portal.models.user import Role, User
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


def _preview(client, klass, action="issue", prerender=False) -> tuple[str, str]:
    """Step one: the preview page and the digest its confirmation form carries."""
    query = {"klass": klass.id, "action": action}
    if prerender:
        query["prerender"] = "y"
    response = client.get("/admin/licenses/bulk", query_string=query)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:2000]
    digest = re.search(r'name="preview" type="hidden" value="([0-9a-f]{32})"', body)
    assert digest, "the preview page has a confirmation form"
    return body, digest.group(1)


def _start(client, klass, action="issue", prerender=False, override_reason=None):
    """Preview, then confirm; returns the new job's id."""
    _, digest = _preview(client, klass, action, prerender)
    data = {"klass": klass.id, "action": action, "preview": digest}
    if prerender:
        data["prerender"] = "y"
    if override_reason is not None:
        data.update(override="y", override_reason=override_reason)
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
    assert 'hx-trigger="every 1s"' not in page  # finished: no more polling (the header still counts)
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
    klass, spec, ids = class_of_students(3, max_level=2, requirements_per_level=0)
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
    klass, spec, ids = class_of_students(3, max_level=3, requirements_per_level=0)
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
    response = client.get("/admin/licenses/bulk", query_string={"klass": empty.id, "action": "issue"})
    assert response.status_code == 422 and "has no students" in response.get_data(as_text=True)
    klass, _, _ = class_of_students(1)
    response = client.get("/admin/licenses/bulk", query_string={"klass": klass.id, "action": "explode"})
    assert response.status_code == 422
    missing = client.get("/admin/licenses/bulk", query_string={"klass": 999, "action": "issue"})
    assert missing.status_code == 422
    assert client.get("/admin/licenses/bulk", query_string={"klass": "abc"}).status_code == 422
    # Nothing starts without the preview: a bare POST is shown the preview and asked again.
    response = client.post("/admin/licenses/bulk", data={"klass": klass.id, "action": "issue"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Look at the preview first" in body
    assert 'id="preview-title"' in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 0


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
    _, digest = _preview(client, klass)
    response = client.post("/admin/licenses/bulk",
                           data={"klass": klass.id, "action": "issue", "preview": digest})
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


# --- the preview, decisions respected, the override --------------------------------------------


def _decisions_class(app, make_user, make_license, class_of_students):
    """A class of a 3-level specialization (two requirements a level) whose students are,
    by name: ready (level 2 met), missing (one requirement of level 2 open), rejected
    (level 2 met, a request for it rejected a minute ago), pending (a request waits),
    unlicensed, top (level 3) and suspended (license suspended)."""
    klass, spec, ids = class_of_students(7, max_level=3)
    names = ["ready", "missing", "rejected", "pending", "unlicensed", "top", "suspended"]
    who = dict(zip(names, ids, strict=True))
    admin = make_user(Role.ADMIN)
    holder = lambda uid: type("S", (), {"id": uid})  # noqa: E731
    for name in ("ready", "missing", "rejected", "pending"):
        make_license(holder(who[name]), spec, level=1)
    make_license(holder(who["top"]), spec, level=3)
    make_license(holder(who["suspended"]), spec, level=1, actor=admin, status="suspended")
    with app.app_context():
        teacher = db.session.get(User, klass.instructor_id)
        level2 = db.session.scalars(
            sa.select(Requirement).join(Level)
            .where(Level.specialization_id == spec.id, Level.number == 2).order_by(Requirement.position)
        ).all()
        for name in ("ready", "rejected", "pending", "suspended"):
            for requirement in level2:
                student = db.session.get(User, who[name])
                class_services.confirm_requirement(student, requirement, actor=teacher)
        class_services.confirm_requirement(db.session.get(User, who["missing"]), level2[0], actor=teacher)
        lookup = lambda name: db.session.scalar(  # noqa: E731
            sa.select(License).where(License.holder_id == who[name], License.specialization_id == spec.id))
        request = reviews.request_upgrade(lookup("rejected"), "Ready", db.session.get(User, who["rejected"]))
        reviews.reject_request(request, teacher, "Not yet: your match play is not there.")
        reviews.request_upgrade(lookup("pending"), "Please", db.session.get(User, who["pending"]))
        db.session.commit()
        names_by_id = {uid: db.session.get(User, uid).name for uid in ids}
        titles = [r.title for r in level2]
    return klass, spec, who, names_by_id, titles


def _levels(app, spec):
    with _reading(app):
        return dict(db.session.execute(
            sa.select(License.holder_id, License.level).where(License.specialization_id == spec.id)).all())


EXPECTED_HELD = {
    "missing": "requirements of level 2 not met: {req2}",
    "rejected": "a request for level 2 was rejected on {today}: Not yet: your match play is not there.",
    "pending": "a request for level 2 is waiting for review; decide it in the queue",
    "unlicensed": "not eligible: no {spec} license",
    "top": "already at the highest level of {spec}",
    "suspended": "not eligible: the license is suspended",
}


def _expected(name, spec, titles):
    return EXPECTED_HELD[name].format(req2=titles[1], today=utcnow().date().isoformat(), spec=spec.name)


def _section(body: str, css_class: str) -> str:
    match = re.search(rf'<ul class="{css_class}">(.*?)</ul>', body, re.S)
    return html.unescape(match.group(1)) if match else ""


def test_preview_lists_who_moves_and_who_not_with_reasons_and_changes_nothing(
    app, client, logged_admin, make_user, make_license, class_of_students, audit_events
):
    klass, spec, who, names, titles = _decisions_class(app, make_user, make_license, class_of_students)
    before = len(audit_events())

    body, _ = _preview(client, klass, action="upgrade")

    moved, held = _section(body, "bulk-moved"), _section(body, "bulk-held")
    assert f"{names[who['ready']]}</a>: level 1 → 2" in moved
    assert all(names[who[n]] not in moved for n in EXPECTED_HELD)
    for name in EXPECTED_HELD:
        assert f"{names[who[name]]}</a>: {_expected(name, spec, titles)}" in held, name
    # Only decisions an admin may overrule are offered for the override.
    assert held.count("override possible") == 2
    assert "1 student will be upgraded." in body
    assert "6 will not (2 of them only with an override)." in body
    # Looking changes nothing and starts nothing.
    assert _count(app, Job) == 0 and len(audit_events()) == before


def test_the_job_does_what_the_preview_said_missing_requirements_and_recent_rejection_hold(
    app, client, logged_admin, make_user, make_license, class_of_students, audit_events
):
    klass, spec, who, names, titles = _decisions_class(app, make_user, make_license, class_of_students)

    job_id = _start(client, klass, action="upgrade")

    job, items = _job(app, job_id)
    assert (job.status, job.succeeded, job.skipped, job.failed) == ("finished", 1, 6, 0)
    assert items[str(who["ready"])][0] == "done"
    for name in EXPECTED_HELD:
        assert items[str(who[name])] == ("skipped", _expected(name, spec, titles)), name
    levels = _levels(app, spec)
    assert levels[who["ready"]] == 2
    assert levels[who["missing"]] == levels[who["rejected"]] == levels[who["pending"]] == 1
    assert len(audit_events("license.upgrade_approved")) == 1 and not audit_events("job.override")


def test_override_with_a_reason_moves_the_held_back_and_records_the_reason(
    app, client, logged_admin, make_user, make_license, class_of_students, audit_events
):
    klass, spec, who, names, titles = _decisions_class(app, make_user, make_license, class_of_students)
    _, digest = _preview(client, klass, action="upgrade")
    data = {"klass": klass.id, "action": "upgrade", "preview": digest, "override": "y"}

    # The override needs a reason, next to its field.
    response = client.post("/admin/licenses/bulk", data={**data, "override_reason": "  "})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="override_reason-error"' in body
    assert "Say why these students move" in body and _count(app, Job) == 0

    reason = "Assessed at the regional camp; the club confirmed in writing."
    response = client.post("/admin/licenses/bulk", data={**data, "override_reason": reason})
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])

    job, items = _job(app, job_id)
    assert (job.succeeded, job.skipped, job.failed) == (3, 4, 0)
    levels = _levels(app, spec)
    assert levels[who["ready"]] == levels[who["missing"]] == levels[who["rejected"]] == 2
    assert levels[who["pending"]] == 1 and levels[who["suspended"]] == 1 and levels[who["top"]] == 3
    assert items[str(who["missing"])][1].endswith(f"by override ({_expected('missing', spec, titles)})")
    assert items[str(who["pending"])] == ("skipped", _expected("pending", spec, titles))
    with _reading(app):
        notes = dict(db.session.execute(
            sa.select(License.holder_id, LicenseEvent.note).join(License)
            .where(License.specialization_id == spec.id, LicenseEvent.kind == "upgraded")).all())
    # The reason is in the history row of each license moved by the override, not the others.
    assert reason in notes[who["missing"]] and reason in notes[who["rejected"]]
    assert reason not in notes[who["ready"]]
    [override] = audit_events("job.override")
    assert override.actor_id == logged_admin.id and override.details["reason"] == reason
    assert sorted(override.details["students"]) == sorted([who["missing"], who["rejected"]])
    approvals = {e.details["to_level"]: e for e in audit_events("license.upgrade_approved")}
    assert len(audit_events("license.upgrade_approved")) == 3 and 2 in approvals
    page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert html.escape(reason) in page


def test_a_rejection_stops_holding_after_new_evidence_or_after_the_hold(
    app, client, logged_admin, make_user, make_license, class_of_students
):
    klass, spec, ids = class_of_students(2, max_level=3)
    for uid in ids:
        make_license(type("S", (), {"id": uid}), spec, level=1)
    with app.app_context():
        teacher = db.session.get(User, klass.instructor_id)
        first, second = db.session.scalars(
            sa.select(Requirement).join(Level)
            .where(Level.specialization_id == spec.id, Level.number == 2).order_by(Requirement.position)
        ).all()
        students = [db.session.get(User, uid) for uid in ids]
        for student in students:
            class_services.confirm_requirement(student, first, actor=teacher)
            license = db.session.scalar(sa.select(License).where(License.holder_id == student.id))
            reviews.reject_request(reviews.request_upgrade(license, "Ready", student), teacher, "Not yet")
        db.session.commit()
        spec_obj = db.session.get(Specialization, spec.id)
        # New evidence after the rejection (the second requirement) lifts the hold.
        class_services.confirm_requirement(students[0], second, actor=teacher)
        db.session.commit()
        verdicts = rules.bulk_verdicts("upgrade", spec_obj, ids)
        assert verdicts[ids[0]].moves
        assert verdicts[ids[1]].blockers == (rules.REQUIREMENTS_MISSING, rules.RECENTLY_REJECTED)
        # A rejection older than the hold no longer counts; the missing requirement still does.
        later = utcnow() + timedelta(days=rules.REJECTION_HOLD_DAYS, minutes=1)
        assert rules.bulk_verdicts("upgrade", spec_obj, ids, now=later)[ids[1]].blockers == (
            rules.REQUIREMENTS_MISSING,)


def test_the_job_asks_again_when_it_reaches_each_student(
    app, client, logged_admin, make_user, make_license, class_of_students
):
    klass, spec, who, names, titles = _decisions_class(app, make_user, make_license, class_of_students)
    _, digest = _preview(client, klass, action="upgrade")
    with app.app_context():
        # Between the preview and the confirmation the missing requirement is confirmed.
        teacher = db.session.get(User, klass.instructor_id)
        second = db.session.scalars(
            sa.select(Requirement).join(Level)
            .where(Level.specialization_id == spec.id, Level.number == 2).order_by(Requirement.position)
        ).all()[1]
        class_services.confirm_requirement(db.session.get(User, who["missing"]), second, actor=teacher)
        db.session.commit()
    response = client.post("/admin/licenses/bulk",
                           data={"klass": klass.id, "action": "upgrade", "preview": digest})
    body = response.get_data(as_text=True)
    # The confirmation no longer matches what is true: the new preview is shown instead.
    assert response.status_code == 409 and "Something changed since the preview" in body
    assert f"{names[who['missing']]}</a>: level 1 → 2" in _section(body, "bulk-moved")
    assert _count(app, Job) == 0

    with app.app_context():
        job = services.start_bulk(db.session.get(Klass, klass.id), "upgrade", False,
                                  db.session.get(User, logged_admin.id))
        db.session.commit()
        job_id = job.id
        # Queued; before a worker reaches the students an instructor rejects one of them.
        teacher = db.session.get(User, klass.instructor_id)
        student = db.session.get(User, who["ready"])
        license = db.session.scalar(sa.select(License).where(License.holder_id == student.id))
        reviews.reject_request(reviews.request_upgrade(license, "Ready", student), teacher, "Wait a month")
        db.session.commit()
        jobs.run(job_id)
    job, items = _job(app, job_id)
    assert items[str(who["missing"])][0] == "done"
    assert items[str(who["ready"])] == (
        "skipped", f"a request for level 2 was rejected on {utcnow().date().isoformat()}: Wait a month")
    levels = _levels(app, spec)
    assert levels[who["missing"]] == 2 and levels[who["ready"]] == 1


def test_a_queued_job_says_queued_and_offers_no_resume(app, client, logged_admin, class_of_students):
    klass, _, _ = class_of_students(3)
    with app.app_context():
        job = services.start_bulk(
            db.session.get(Klass, klass.id), "issue", False, db.session.get(User, logged_admin.id))
        db.session.commit()
        job_id = job.id
    body = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    progress = body[body.index('id="job-progress"'):]
    assert ">Queued</span> Waiting for a worker to start the job (3 students)." in progress
    assert "0 of 0" not in progress and "100%" not in progress
    assert ">Resume</button>" not in progress
    listed = client.get("/admin/jobs").get_data(as_text=True)
    assert ">Queued</span></td>" in listed and "Waiting for a worker</td>" in listed and "0/0" not in listed
    response = client.post(f"/admin/jobs/{job_id}/resume", follow_redirects=True)
    assert "has not started yet" in response.get_data(as_text=True)
    with app.app_context():
        jobs.run(job_id)
    body = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert ">Finished</span>" in body and "3 of 3 handled (100%)" in body and ">Resume</button>" not in body


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
def test_rq_worker_upgrade_respects_decisions_and_the_override(
    rq_app, db_url, make_user, make_license, class_of_students, audit_events
):
    app = rq_app
    client = app.test_client()
    login(client, make_user("admin"))
    klass, spec, who, names, titles = _decisions_class(app, make_user, make_license, class_of_students)
    reason = "Assessed at the regional camp."
    job_id = _start(client, klass, action="upgrade", override_reason=reason)
    body = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "Queued</span> Waiting for a worker" in body and ">Resume</button>" not in body

    done = run_worker_burst(app, db_url)

    assert done.returncode == 0, done.stderr[-3000:]
    job, items = _job(app, job_id)
    assert (job.status, job.succeeded, job.skipped, job.failed) == ("finished", 3, 4, 0)
    for name in ("pending", "unlicensed", "top", "suspended"):
        assert items[str(who[name])] == ("skipped", _expected(name, spec, titles)), name
    levels = _levels(app, spec)
    assert levels[who["ready"]] == levels[who["missing"]] == levels[who["rejected"]] == 2
    assert levels[who["pending"]] == 1
    with _reading(app):
        notes = db.session.scalars(
            sa.select(LicenseEvent.note).join(License)
            .where(License.holder_id.in_([who["missing"], who["rejected"]]), LicenseEvent.kind == "upgraded")
        ).all()
    assert len(notes) == 2 and all(reason in note for note in notes)
    assert audit_events("job.override")[0].details["reason"] == reason


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
