"""The bulk license job (kind ``licenses.bulk``): issue level 1, or upgrade by one level,
for the students of a class whom the rules allow (``rules.bulk_verdicts``, the same
verdicts the admin saw in the preview, asked again for each student when the job reaches
them), optionally pre-rendering the certificates.

Each student is one item: their license change, its history row, its audit event
and the job's item row commit together, so an interrupted job resumes where it
stopped and never changes a license twice.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import jobs
from portal.extensions import db
from portal.licenses import certificates, reviews, rules
from portal.licenses import services as lifecycle
from portal.models.catalogue import Specialization
from portal.models.job import JobItem
from portal.models.license import License
from portal.models.user import User


def bulk_licenses(job, run: jobs.JobRun) -> None:
    """Run the job; its notes and item messages are written in the language of the admin
    who started it (they read them on the job page and in the license histories)."""
    actor = db.session.get(User, job.actor_id) if job.actor_id else None
    with force_locale(getattr(actor, "locale", None) or "en"):
        _bulk_licenses(job, run)


def _bulk_licenses(job, run: jobs.JobRun) -> None:
    job_id = job.id
    params = dict(job.params)
    actor_id = job.actor_id
    action = params["action"]
    spec_id = params["specialization_id"]
    prerender = bool(params.get("prerender"))
    from_levels = params.get("from_levels") or {}
    override = params.get("override_reason")
    keys = [str(uid) for uid in params.get("students", [])]
    if db.session.get(Specialization, spec_id) is None:
        raise jobs.JobError(_("The specialization no longer exists."))
    run.set_total(len(keys))
    note = (_("Bulk issue (job %(id)s)", id=job_id) if action == "issue"
            else _("Bulk upgrade (job %(id)s)", id=job_id))

    def work(key: str) -> tuple[str, str]:
        actor = db.session.get(User, actor_id) if actor_id else None
        spec = db.session.get(Specialization, spec_id)
        license = db.session.scalar(
            sa.select(License).where(License.holder_id == int(key), License.specialization_id == spec_id)
        )
        if action == "upgrade" and license is not None:
            # Noted when the job was queued: a re-run or a resumed job raises no one twice.
            start = from_levels.get(key)
            if start is None:
                return "skipped", _("not eligible: no %(specialization)s license when the job started",
                                    specialization=spec.local_name)
            if license.level > int(start):
                return "skipped", _("already at level %(level)s", level=license.level)
        # The same rule the preview showed, asked again now: things may have changed.
        verdict = rules.bulk_verdicts(action, spec, [int(key)])[int(key)]
        if not verdict.moves_with(bool(override)):
            return "skipped", verdict.why_not
        why = note
        if not verdict.moves:
            why = _("%(note)s; override by the admin (%(why_not)s): %(reason)s",
                    note=note, why_not=verdict.why_not, reason=override)
        if action == "issue":
            student = db.session.get(User, int(key))
            try:
                license = lifecycle.issue_license(student, spec, 1, actor, note=why)
            except lifecycle.LicenseError as exc:
                raise jobs.JobError(str(exc)) from exc
            message = _("issued %(code)s, level 1", code=license.code)
        else:
            license = _upgrade(license, verdict.to_level, actor, why)
            message = _("upgraded %(code)s to level %(level)s", code=license.code, level=verdict.to_level)
        if not verdict.moves:
            message = _("%(outcome)s, by override (%(why_not)s)", outcome=message, why_not=verdict.why_not)
        if prerender:
            db.session.flush()
            try:
                # Cheap, and refuses a license whose history or signature does not hold:
                # then the item fails and its change is rolled back.
                certificates.check_integrity(license)
            except certificates.CertificateError as exc:
                raise jobs.JobError(_("certificate could not be rendered: %(error)s", error=exc)) from exc
            to_render.append(license.id)
        return "done", message

    # Certificates are rendered after each chunk's changes are committed, so no
    # render holds a write transaction, and several render at once on several cores.
    # While one chunk's certificates render, the next chunk's changes are made.
    rendering: list = []
    for start in range(0, len(keys), RENDER_CHUNK):
        to_render: list[int] = []
        run.each(keys[start : start + RENDER_CHUNK], work)
        _note_certificates(job_id, rendering)
        rendering = _start_certificates(to_render)
    _note_certificates(job_id, rendering)


RENDER_CHUNK = 24


def _start_certificates(license_ids: list[int]) -> list:
    if not license_ids:
        return []
    licenses = db.session.scalars(sa.select(License).where(License.id.in_(license_ids))).all()
    pending = certificates.start_renders(list(licenses))
    db.session.rollback()  # end the read transaction while the renders run
    return pending


def _note_certificates(job_id: int, pending: list) -> None:
    """Collect finished renders and note the result on each job item."""
    if not pending:
        return
    results = certificates.finish_renders(pending)
    holders = dict(
        db.session.execute(sa.select(License.id, License.holder_id).where(License.id.in_(results))).all()
    )
    items = {
        item.key: item
        for item in db.session.scalars(
            sa.select(JobItem).where(
                JobItem.job_id == job_id, JobItem.key.in_([str(h) for h in holders.values()])
            )
        )
    }
    for license_id, error in results.items():
        item = items.get(str(holders.get(license_id)))
        if item is not None:
            if error is None:
                item.message = _("%(outcome)s, certificate ready", outcome=item.message)
            else:
                item.message = _("%(outcome)s, certificate failed: %(error)s", outcome=item.message,
                                 error=error)
    db.session.commit()


def _upgrade(license: License, target: int, actor, note: str) -> License:
    """Raise one level through the review services: a request made and approved by the
    admin, so the history and the audit trail read as for any other upgrade."""
    try:
        request = reviews.request_upgrade(license, note, actor)
        if request.to_level != target:
            raise jobs.JobError(_("the license is no longer at level %(level)s", level=target - 1))
        return reviews.approve_request(request, actor, note=note)
    except lifecycle.LicenseError as exc:
        raise jobs.JobError(str(exc)) from exc
