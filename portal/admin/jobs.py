"""Bulk license jobs: starting one for a class, the list, one job's live progress, resuming."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_login import current_user

from portal import jobs as job_runner
from portal.admin import bp, forms, queries, services
from portal.exceptions import commit_or_show, form_status
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.models.job import Job, JobStatus
from portal.models.klass import Klass
from portal.models.user import User
from portal.params import int_arg


@bp.route("/licenses/bulk", methods=["GET", "POST"])
def bulk():
    form = forms.BulkForm()
    classes = queries.open_classes()
    form.klass.choices = forms.options((k.id, f"{k.name} ({spec_name})") for k, spec_name in classes)
    if request.method == "GET" and int_arg("class", lo=1):
        form.klass.data = int_arg("class", lo=1)
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.start_bulk, db.get_or_404(Klass, form.klass.data), form.action.data,
        form.prerender.data, current_user,
    )):
        job_id = done.value.id
        job_runner.dispatch(job_id)
        return redirect(url_for("admin.job", job_id=job_id))
    return render_template("admin/bulk.html", form=form, has_classes=bool(classes)), form_status(form)


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
        flash(f"Job {job_id} resumed; items already handled are skipped.", "success")
    return redirect(url_for("admin.job", job_id=job_id))
