"""Bulk license jobs: starting one for a class, the list, one job's live progress, resuming."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import jobs as job_runner
from portal.admin import bp, forms, queries, services
from portal.auth.second_factor import require_fresh_second_factor
from portal.exceptions import PortalError, commit_or_show, form_status, show_error
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.models.job import Job, JobStatus
from portal.models.klass import Klass
from portal.models.user import User
from portal.params import int_arg


@bp.route("/licenses/bulk", methods=["GET", "POST"])
@require_fresh_second_factor
def bulk():
    """Step one (GET): choose a class and an action, then see who the job would move and
    who not. Step two (POST, from the preview): start that job."""
    if request.method == "POST":
        return _bulk_start()
    form = forms.BulkPreviewForm(formdata=request.args if "klass" in request.args else None)
    has_classes = _class_choices(form)
    if "klass" not in request.args and int_arg("class", lo=1):
        form.klass.data = int_arg("class", lo=1)
    preview = confirm = None
    if "klass" in request.args and form.validate():
        preview = _preview(form, form.klass.data, form.action.data)
        if preview is not None:
            confirm = forms.BulkForm(formdata=None, klass=form.klass.data, action=form.action.data,
                                     prerender=form.prerender.data, preview=preview.digest)
    status = 422 if form.errors else 200
    return render_template("admin/bulk.html", form=form, preview=preview, confirm=confirm,
                           has_classes=has_classes), status


def _bulk_start():
    """Start the job the admin confirmed under the preview."""
    confirm = forms.BulkForm()
    _class_choices(confirm)
    if confirm.validate_on_submit() and (done := commit_or_show(
        confirm, services.start_bulk, db.get_or_404(Klass, confirm.klass.data), confirm.action.data,
        confirm.prerender.data, current_user, preview=confirm.preview.data,
        override_reason=confirm.override_reason.data if confirm.override.data else None,
    )):
        job_id = done.value.id
        job_runner.dispatch(job_id)
        return redirect(url_for("admin.job", job_id=job_id))
    # Shown again with the preview as it is now (its digest renewed when it changed).
    form = forms.BulkPreviewForm(formdata=None, klass=confirm.klass.data, action=confirm.action.data,
                                 prerender=confirm.prerender.data)
    has_classes = _class_choices(form)
    preview = None
    if isinstance(confirm.klass.data, int) and confirm.action.data in services.BULK_ACTIONS:
        preview = _preview(form, confirm.klass.data, confirm.action.data)
        if preview is not None:
            confirm.preview.data = preview.digest
    return render_template("admin/bulk.html", form=form, preview=preview, confirm=confirm,
                           has_classes=has_classes), form_status(confirm)


def _class_choices(form) -> bool:
    classes = queries.open_classes()
    form.klass.choices = forms.options((k.id, f"{k.name} ({spec.local_name})") for k, spec in classes)
    return bool(classes)


def _preview(form, class_id: int, action: str):
    """The preview for the class, or None with the refusal beside the form's field."""
    klass = db.session.get(Klass, class_id) if isinstance(class_id, int) else None
    if klass is None or klass.archived_at is not None:
        show_error(form, services.AdminError(_("Choose a class."), "klass"))
        return None
    try:
        return services.bulk_preview(klass, action)
    except PortalError as exc:
        show_error(form, exc)
        return None


@bp.get("/jobs")
def jobs_list():
    return render_template("admin/jobs.html", rows=queries.recent_jobs(100))


@bp.get("/jobs/<int:job_id>")
def job(job_id: int):
    job = db.get_or_404(Job, job_id)
    actor = db.session.get(User, job.actor_id) if job.actor_id else None
    return render_page(
        "admin/job.html", "admin/_job_progress.html",
        job=job, actor=actor, items=queries.job_items(job),
        live=job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
    )


@bp.post("/jobs/<int:job_id>/resume")
def job_resume(job_id: int):
    job = db.get_or_404(Job, job_id)
    if commit_or_show(None, services.resume_job, job, current_user):
        job_runner.dispatch(job_id)
        flash(_("Job %(id)s resumed; items already handled are skipped.", id=job_id), "success")
    return redirect(url_for("admin.job", job_id=job_id))
